package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import java.util.Optional;

/**
 * One command an {@link Operation} still needs, run as the login user or through become; a
 * {@link #detached} step runs in a systemd unit of that name that outlives the controller. A step
 * {@link #withInput with input} gets it on stdin (SQL for psql, say): never on a command line,
 * and never shown, since it may hold a secret.
 */
public record Step(Cmd command, Optional<String> becomeUser, Optional<String> unit, Optional<String> input) {
    public static Step asRoot(Cmd command) {
        return new Step(command, Optional.of("root"), Optional.empty(), Optional.empty());
    }

    public static Step as(String user, Cmd command) {
        return new Step(command, Optional.of(user), Optional.empty(), Optional.empty());
    }

    public static Step login(Cmd command) {
        return new Step(command, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** The same step run detached, as unit {@code pgplay-NAME} (see {@code Detached}); a step with input cannot be. */
    public Step detached(String name) {
        if (input.isPresent()) {
            throw new IllegalArgumentException("step `" + command + "`: a detached unit has no stdin to feed the input to");
        }
        return new Step(command, Optional.of(becomeUser.orElse("root")), Optional.of(name), input);
    }

    /** The same step with {@code text} on its stdin. */
    public Step withInput(String text) {
        if (unit.isPresent()) {
            throw new IllegalArgumentException("step `" + command + "`: a detached unit has no stdin to feed the input to");
        }
        return new Step(command, becomeUser, unit, Optional.of(text));
    }

    /** The command as check mode and the events show it: the input only as a mark that there is one. */
    public String shown() {
        return command + input.map(i -> " < (input)").orElse("") + becomeUser.map(u -> "  (as " + u + ")").orElse("");
    }
}
