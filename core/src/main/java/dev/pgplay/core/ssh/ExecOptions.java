package dev.pgplay.core.ssh;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How to run one command: as the login user or become another ({@code sudo}), with a time limit,
 * optional standard input and an optional listener for each output line as it arrives.
 */
public record ExecOptions(Optional<String> becomeUser, Duration timeout, byte[] stdin, Consumer<String> onLine) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final ExecOptions DEFAULT = new ExecOptions(Optional.empty(), DEFAULT_TIMEOUT, null, null);

    /** Run as {@code user} through the host's become method (sudo). */
    public static ExecOptions as(String user) {
        return DEFAULT.become(user);
    }

    /** Run as {@code becomeUser} when present (else the login user), {@code input} (UTF-8) on stdin when present. */
    public static ExecOptions of(Optional<String> becomeUser, Optional<String> input) {
        return new ExecOptions(becomeUser, DEFAULT_TIMEOUT, input.map(i -> i.getBytes(java.nio.charset.StandardCharsets.UTF_8)).orElse(null), null);
    }

    public ExecOptions become(String user) {
        return new ExecOptions(Optional.of(user), timeout, stdin, onLine);
    }

    public ExecOptions timeout(Duration limit) {
        return new ExecOptions(becomeUser, limit, stdin, onLine);
    }

    public ExecOptions stdin(byte[] input) {
        return new ExecOptions(becomeUser, timeout, input, onLine);
    }

    public ExecOptions onLine(Consumer<String> listener) {
        return new ExecOptions(becomeUser, timeout, stdin, listener);
    }
}
