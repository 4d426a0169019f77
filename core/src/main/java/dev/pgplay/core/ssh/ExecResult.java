package dev.pgplay.core.ssh;

import java.time.Duration;

/** What a remote command did: exit status, captured output and how long it took. */
public record ExecResult(String command, int exitStatus, String stdout, String stderr, Duration duration) {
    public boolean ok() {
        return exitStatus == 0;
    }

    /** Stdout without the trailing newline. */
    public String out() {
        return stdout.strip();
    }

    /** Throws {@link RemoteCommandException} unless the command exited 0. */
    public ExecResult check(String host) {
        if (exitStatus != 0) {
            throw new RemoteCommandException(host, this);
        }
        return this;
    }
}
