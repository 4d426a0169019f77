package dev.pgplay.core.ssh;

import java.time.Duration;

/** A remote command did not finish in time; its channel was closed. */
public final class CommandTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CommandTimeoutException(String host, String command, Duration timeout) {
        super(host + ": `" + command + "` did not finish within " + timeout.toSeconds() + " s");
    }
}
