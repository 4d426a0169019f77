package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import java.util.Optional;
import java.util.function.Function;

/**
 * Something known about a host: a command, a parser of its result and a default for when the
 * command fails (pyinfra style). Gathered on demand and cached per host for the run, until a
 * task that changes it calls {@link HostContext#forget(Fact)}.
 */
public record Fact<T>(String name, Cmd command, Optional<String> becomeUser, Function<ExecResult, T> parser, T fallback) {
    /** A fact read as the login user. */
    public static <T> Fact<T> of(String name, Cmd command, Function<ExecResult, T> parser, T fallback) {
        return new Fact<>(name, command, Optional.empty(), parser, fallback);
    }

    /** A fact read through become (root unless {@code user} says otherwise). */
    public static <T> Fact<T> asUser(String user, String name, Cmd command, Function<ExecResult, T> parser, T fallback) {
        return new Fact<>(name, command, Optional.of(user), parser, fallback);
    }
}
