package dev.pgplay.core.modules;

import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Ansible's command/shell module: runs a command (changed when it exits 0, failed otherwise).
 * In check mode it does not run unless marked {@link #readOnly()}; {@link #creates(String)} skips
 * it when a file already exists.
 */
public final class Command implements Action {
    private final Cmd cmd;
    private final Optional<String> becomeUser;
    private final Optional<String> creates;
    private final boolean readOnly;
    private final Duration timeout;

    private Command(Cmd cmd, Optional<String> becomeUser, Optional<String> creates, boolean readOnly, Duration timeout) {
        this.cmd = cmd;
        this.becomeUser = becomeUser;
        this.creates = creates;
        this.readOnly = readOnly;
        this.timeout = timeout;
    }

    public static Command run(Cmd cmd) {
        return new Command(cmd, Optional.empty(), Optional.empty(), false, ExecOptions.DEFAULT_TIMEOUT);
    }

    public static Command run(String program, String... args) {
        return run(Cmd.of(program, args));
    }

    /** Runs through become as {@code user} (root, postgres, ...). */
    public Command as(String user) {
        return new Command(cmd, Optional.of(user), creates, readOnly, timeout);
    }

    public Command sudo() {
        return as("root");
    }

    /** Skips the command when {@code path} exists on the host. */
    public Command creates(String path) {
        return new Command(cmd, becomeUser, Optional.of(path), readOnly, timeout);
    }

    /** The command changes nothing: it runs in check mode too and reports ok, not changed. */
    public Command readOnly() {
        return new Command(cmd, becomeUser, creates, true, timeout);
    }

    public Command timeout(Duration limit) {
        return new Command(cmd, becomeUser, creates, readOnly, limit);
    }

    @Override
    public TaskResult run(HostContext ctx) {
        if (creates.isPresent() && ctx.connection().exec(Cmd.of("test", "-e", creates.get()), options()).ok()) {
            return TaskResult.skipped(creates.get() + " exists");
        }
        if (ctx.checkMode() && !readOnly) {
            return TaskResult.skipped("check mode: would run `" + cmd + "`");
        }
        ExecResult r = ctx.connection().exec(cmd, options().onLine(ctx::progress));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("rc", r.exitStatus());
        data.put("stdout", r.stdout());
        data.put("stderr", r.stderr());
        if (!r.ok()) {
            return TaskResult.failed("`" + cmd + "` exited " + r.exitStatus()
                    + (r.stderr().isBlank() ? "" : ": " + r.stderr().strip()), data);
        }
        if (readOnly) {
            return TaskResult.ok(r.out(), data);
        }
        return new TaskResult.Changed(r.out(), List.of(cmd.toString()), Optional.empty(), data);
    }

    private ExecOptions options() {
        ExecOptions o = ExecOptions.DEFAULT.timeout(timeout);
        return becomeUser.map(o::become).orElse(o);
    }
}
