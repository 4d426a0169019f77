package dev.pgplay.lab;

import com.github.dockerjava.api.DockerClient;
import java.io.IOException;
import java.util.List;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;

/**
 * One running lab host: its name, address on the lab network and SSH host keys. {@link #docker}
 * runs a command through the container runtime, for test set-up and for checking state from the
 * outside; the code under test always goes through SSH.
 */
public final class LabHost {
    private final String name;
    private final String address;
    private final GenericContainer<?> container;
    private final List<String> hostKeys;

    LabHost(String name, String address, GenericContainer<?> container, List<String> hostKeys) {
        this.name = name;
        this.address = address;
        this.container = container;
        this.hostKeys = List.copyOf(hostKeys);
    }

    public String name() {
        return name;
    }

    public String address() {
        return address;
    }

    public int sshPort() {
        return 22;
    }

    /** The host's public keys as "TYPE BASE64" strings, as sshd serves them. */
    public List<String> hostKeys() {
        return hostKeys;
    }

    public String containerId() {
        return container.getContainerId();
    }

    /** Runs a command as root inside the container (not over SSH); fails unless it exits 0. */
    public String docker(String... command) {
        Container.ExecResult result = dockerResult(command);
        if (result.getExitCode() != 0) {
            throw new IllegalStateException("lab: " + name + ": " + String.join(" ", command) + " exited "
                    + result.getExitCode() + ": " + result.getStderr().strip());
        }
        return result.getStdout();
    }

    /** Runs a command as root inside the container and returns its result, whatever the exit code. */
    public Container.ExecResult dockerResult(String... command) {
        try {
            return container.execInContainer(command);
        } catch (IOException e) {
            throw new IllegalStateException("lab: " + name + ": cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("lab: " + name + ": interrupted", e);
        }
    }

    /**
     * A reboot: {@code docker restart} (systemd shuts down, then boots again), waiting until the
     * host runs again. The address and host keys stay; a VIP on its interface is gone.
     */
    public void reboot() {
        DockerClient docker = container.getDockerClient();
        docker.restartContainerCmd(containerId()).withTimeout(30).exec();
        SystemdRunning.await(docker, containerId(), name, LabHostSpec.BOOT_TIMEOUT);
    }

    /** Starts a reboot without waiting for it: {@link #awaitBooted} waits. */
    public void rebootNoWait() {
        container.getDockerClient().restartContainerCmd(containerId()).withTimeout(30).exec();
    }

    public void awaitBooted() {
        SystemdRunning.await(container.getDockerClient(), containerId(), name, LabHostSpec.BOOT_TIMEOUT);
    }

    /**
     * A network cut: the host's interface goes down (its addresses, a VIP included, stay
     * configured); packets to it are lost, so connections hang instead of being refused.
     */
    public void cutNetwork() {
        docker("ip", "link", "set", "eth0", "down");
    }

    /**
     * The cut healed: the interface is up again with the same addresses, and this machine reaches
     * the host's SSH port again (neighbour entries that failed during the cut take a moment to
     * recover; "back on the network" means reachable). Gives up after 15 s, saying so.
     */
    public void healNetwork() {
        docker("ip", "link", "set", "eth0", "up");
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(address, 22), 500);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + ": network healed, but port 22 at " + address + " still unreachable after 15 s: " + e.getMessage(), e);
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(name + ": interrupted while waiting for the healed network", ie);
                }
            }
        }
    }

    void stop() {
        container.stop();
    }

    @Override
    public String toString() {
        return name + "(" + address + ")";
    }
}
