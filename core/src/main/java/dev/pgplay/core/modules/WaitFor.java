package dev.pgplay.core.modules;

import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Duration;
import java.util.Optional;

/**
 * Waits until a condition holds on the host, polling (Ansible's wait_for / until): a TCP port
 * accepts connections, or a command exits 0 (optionally printing an expected value). Reads only,
 * so it runs in check mode too. The failure says what timed out and after how long.
 */
public final class WaitFor implements Action {
    private final String what;
    private final Cmd probe;
    private final Optional<String> becomeUser;
    private final Optional<String> expected;
    private final Duration timeout;
    private final Duration interval;

    private WaitFor(String what, Cmd probe, Optional<String> becomeUser, Optional<String> expected, Duration timeout, Duration interval) {
        this.what = what;
        this.probe = probe;
        this.becomeUser = becomeUser;
        this.expected = expected;
        this.timeout = timeout;
        this.interval = interval;
    }

    /** A TCP port on the host (or an address it reaches) accepts connections. */
    public static WaitFor port(String address, int port) {
        return new WaitFor("port " + address + ":" + port,
                Cmd.of("timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/\"$0\"/\"$1\"", address, String.valueOf(port)),
                Optional.empty(), Optional.empty(), Duration.ofSeconds(60), Duration.ofMillis(200));
    }

    /** A command exits 0. */
    public static WaitFor command(String what, Cmd probe) {
        return new WaitFor(what, probe, Optional.empty(), Optional.empty(), Duration.ofSeconds(60), Duration.ofMillis(200));
    }

    /** An SQL query run by psql as postgres returns {@code expected}. */
    public static WaitFor sql(int port, String query, String expectedValue) {
        return new WaitFor("`" + query + "` = " + expectedValue + " on port " + port,
                Cmd.of("psql", "-X", "-p", String.valueOf(port), "-tAc", query), Optional.of("postgres"),
                Optional.of(expectedValue), Duration.ofSeconds(60), Duration.ofMillis(200));
    }

    public WaitFor as(String user) {
        return new WaitFor(what, probe, Optional.of(user), expected, timeout, interval);
    }

    public WaitFor expecting(String value) {
        return new WaitFor(what, probe, becomeUser, Optional.of(value), timeout, interval);
    }

    public WaitFor timeout(Duration limit) {
        return new WaitFor(what, probe, becomeUser, expected, limit, interval);
    }

    public WaitFor every(Duration pause) {
        return new WaitFor(what, probe, becomeUser, expected, timeout, pause);
    }

    @Override
    public TaskResult run(HostContext ctx) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long lastReport = start;
        ExecResult last = null;
        ExecOptions options = becomeUser.map(ExecOptions::as).orElse(ExecOptions.DEFAULT).timeout(timeout.plusSeconds(5));
        while (!ctx.cancelled()) {
            ExecResult r = ctx.connection().exec(probe, options);
            last = r;
            if (r.ok() && expected.map(e -> e.equals(r.out())).orElse(true)) {
                long ms = (System.nanoTime() - start) / 1_000_000;
                return TaskResult.ok(what + " after " + ms + " ms", java.util.Map.of("waited_ms", ms, "stdout", r.stdout()));
            }
            long now = System.nanoTime();
            if (now >= deadline) {
                break;
            }
            if (now - lastReport > 5_000_000_000L) {
                ctx.progress("waiting for " + what + " (" + (now - start) / 1_000_000_000 + " s)");
                lastReport = now;
            }
            Thread.sleep(Math.min(interval.toMillis(), Math.max(1, (deadline - now) / 1_000_000)));
        }
        String seen = last == null ? "" : "; last: exit " + last.exitStatus() + " " + (last.out() + " " + last.stderr().strip()).trim();
        return TaskResult.failed("timed out after " + timeout.toSeconds() + " s waiting for " + what + seen);
    }
}
