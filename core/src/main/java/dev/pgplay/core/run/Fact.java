package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import java.util.Optional;
import java.util.function.Function;

/**
 * Something known about a host: a command, a parser of its result and a default for when the
 * command fails (pyinfra style). Gathered on demand and cached per host for the run, until a
 * task that changes it calls {@link HostContext#forget(Fact)}. A fact {@link #withInput with input}
 * feeds it to the command's stdin (a query for psql).
 */
public record Fact<T>(String name, Cmd command, Optional<String> becomeUser, Function<ExecResult, T> parser, T fallback,
                      Optional<String> input) {
    /** A fact read as the login user. */
    public static <T> Fact<T> of(String name, Cmd command, Function<ExecResult, T> parser, T fallback) {
        return new Fact<>(name, command, Optional.empty(), parser, fallback, Optional.empty());
    }

    /** A fact read through become (root unless {@code user} says otherwise). */
    public static <T> Fact<T> asUser(String user, String name, Cmd command, Function<ExecResult, T> parser, T fallback) {
        return new Fact<>(name, command, Optional.of(user), parser, fallback, Optional.empty());
    }

    /** The same fact with {@code text} on the command's stdin. */
    public Fact<T> withInput(String text) {
        return new Fact<>(name, command, becomeUser, parser, fallback, Optional.of(text));
    }
}
