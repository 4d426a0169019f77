package dev.pgplay.lab;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;

/**
 * Waits until a lab host finished booting: {@code systemctl is-system-running} says
 * {@code running}. A host that boots {@code degraded} fails at once, naming the failed units; one
 * still starting after the timeout fails with the state it was in.
 */
final class SystemdRunning extends AbstractWaitStrategy {
    SystemdRunning(Duration timeout) {
        withStartupTimeout(timeout);
    }

    @Override
    protected void waitUntilReady() {
        await(waitStrategyTarget.getDockerClient(), waitStrategyTarget.getContainerId(),
                waitStrategyTarget.getContainerInfo().getName(), startupTimeout);
    }

    /** The same wait for any container (also {@code bin/lab}, which does not use Testcontainers). */
    static void await(DockerClient docker, String id, String name, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String state = "no answer";
        while (System.nanoTime() < deadline) {
            if (!Boolean.TRUE.equals(docker.inspectContainerCmd(id).exec().getState().getRunning())) {
                throw new IllegalStateException("lab: " + name + " exited while booting; docker logs " + id.substring(0, 12));
            }
            state = exec(docker, id, "systemctl", "is-system-running").strip();
            if (state.equals("running")) {
                return;
            }
            if (state.equals("degraded")) {
                throw new IllegalStateException("lab: " + name + " booted degraded, failed units: "
                        + exec(docker, id, "systemctl", "--failed", "--no-legend", "--plain").strip().replace('\n', ';'));
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("lab: interrupted while " + name + " boots", e);
            }
        }
        throw new IllegalStateException("lab: " + name + " did not finish booting within " + timeout.toSeconds()
                + " s (systemctl is-system-running: " + (state.isEmpty() ? "no answer" : state) + ")");
    }

    static String exec(DockerClient docker, String id, String... command) {
        try {
            var exec = docker.execCreateCmd(id).withCmd(command).withAttachStdout(true).withAttachStderr(true).exec();
            var buffer = new ByteArrayOutputStream();
            docker.execStartCmd(exec.getId()).exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    if (frame.getStreamType() == StreamType.STDOUT) {
                        buffer.writeBytes(frame.getPayload());
                    }
                }
            }).awaitCompletion();
            return buffer.toString(StandardCharsets.UTF_8);
        } catch (NotFoundException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("lab: interrupted", e);
        }
    }
}
