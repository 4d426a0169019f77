package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.CommandTimeoutException;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Duration;

/**
 * Long commands that must outlive the controller (apt/dpkg, pg_basebackup, pg_rewind, pg_upgrade,
 * pg_dump/pg_restore, vacuumdb): on a systemd host they run as a transient unit
 * ({@code systemd-run --unit=pgplay-NAME --wait}), output appended to
 * {@code /var/log/pgplay/pgplay-NAME.log}. A lost SSH session or a killed controller leaves the
 * unit running to its end; the next run that starts the same unit first waits for the earlier one
 * (it adopts it instead of racing it). A time limit stops the unit, which ends its whole cgroup,
 * and only then reports the timeout, so nothing undoes a step while its command still runs.
 * Hosts without systemd run the command in the SSH session as before.
 */
public final class Detached {
    static final String LOG_DIR = "/var/log/pgplay";

    /** systemd when it is PID 1 (systemctl works), otherwise none. */
    public static final Fact<String> INIT = Fact.of("init", Cmd.of("test", "-d", "/run/systemd/system"), r -> "systemd", "none");

    private Detached() {
    }

    /** The unit name for {@code name} (letters, digits, '-', '_' and '.' kept, others '_'). */
    public static String unit(String name) {
        return "pgplay-" + name.replaceAll("[^A-Za-z0-9_.-]", "_") + ".service";
    }

    /**
     * Runs {@code cmd} as {@code user} in unit {@code name}, waiting at most {@code timeout} (an
     * earlier unit of that name is waited for first, within the same limit). The result's stdout
     * is the unit's output; on failure its stderr is too.
     */
    public static ExecResult run(HostContext ctx, String name, Cmd cmd, String user, Duration timeout) {
        if (!"systemd".equals(ctx.fact(INIT))) {
            return ctx.connection().exec(cmd, ExecOptions.as(user).timeout(timeout).onLine(ctx::progress));
        }
        String unit = unit(name);
        String log = LOG_DIR + "/" + unit.replace(".service", ".log");
        // $1 unit, $2 log, $3 user, $4 the command line; waits for an earlier unit, then runs it and follows its log
        // (carriage returns as line ends: pg_basebackup's progress), which reaches the run as progress lines
        String script = "u=$1; log=$2\n"
                + "while systemctl is-active -q \"$u\"; do sleep 0.2; done\n"
                + "systemctl reset-failed \"$u\" 2>/dev/null || true\n"
                + "install -d -m 0750 " + LOG_DIR + " && : > \"$log\"\n"
                + "systemd-run --unit=\"$u\" --description=\"pgplay: $4\" --collect --wait --quiet -p User=\"$3\" "
                + "-p StandardOutput=append:\"$log\" -p StandardError=append:\"$log\" -p WorkingDirectory=/ /bin/sh -c \"$4\" &\n"
                + "p=$!\n"
                + "tail -n +1 -s 0.2 -F --pid=\"$p\" \"$log\" 2>/dev/null | stdbuf -oL tr '\\r' '\\n'\n"
                + "wait \"$p\"; exit $?\n";
        Cmd wrapped = Cmd.of("sh", "-c", script, "sh", unit, log, user, cmd.shellLine()).displayedAs(cmd.toString());
        ExecResult r;
        try {
            r = ctx.connection().exec(wrapped, ExecOptions.as("root").timeout(timeout).onLine(ctx::progress));
        } catch (CommandTimeoutException e) {
            stop(ctx, name);
            throw e;
        }
        return new ExecResult(cmd.toString(), r.exitStatus(), r.stdout(), r.ok() ? r.stderr() : r.stdout() + r.stderr(), r.duration());
    }

    /** Whether a unit of that name still runs (an earlier run's command not finished yet). */
    public static boolean running(HostContext ctx, String name) {
        return "systemd".equals(ctx.fact(INIT))
                && ctx.connection().exec(Cmd.of("systemctl", "is-active", "-q", unit(name)), ExecOptions.as("root")).ok();
    }

    /** Waits (at most {@code timeout}) until no unit of that name runs; false if one still does. */
    public static boolean awaitEnd(HostContext ctx, String name, Duration timeout) {
        if (!"systemd".equals(ctx.fact(INIT))) {
            return true;
        }
        long seconds = Math.max(1, timeout.toSeconds());
        return ctx.connection().exec(Cmd.of("sh", "-c", "i=0; while systemctl is-active -q \"$1\"; do i=$((i+1)); "
                + "[ $i -lt $(($2*5)) ] || exit 1; sleep 0.2; done", "sh", unit(name), String.valueOf(seconds)),
                ExecOptions.as("root").timeout(timeout.plusSeconds(30))).ok();
    }

    /**
     * Adopts what an earlier run (its controller lost) left running in unit {@code name}: waits,
     * saying so, until it ended; true when there was one. Fails naming the unit and its log when it
     * still runs after {@code limit}.
     */
    public static boolean adopt(HostContext ctx, String name, String what, Duration limit) {
        if (!running(ctx, name)) {
            return false;
        }
        ctx.progress("an earlier run's " + what + " (unit " + unit(name) + ") still runs; waiting for it to end");
        if (!awaitEnd(ctx, name, limit)) {
            throw new IllegalStateException(ctx.host().name() + ": an earlier run's " + what + " (" + unit(name) + ") still runs after "
                    + limit.toMinutes() + " min; see " + LOG_DIR + " and journalctl -u " + unit(name));
        }
        return true;
    }

    /** Stops the unit (SIGTERM to its cgroup, SIGKILL after 10 s) and waits until it is gone. */
    public static void stop(HostContext ctx, String name) {
        String unit = unit(name);
        ctx.connection().exec(Cmd.of("systemctl", "stop", unit), ExecOptions.as("root").timeout(Duration.ofSeconds(120)));
    }
}
