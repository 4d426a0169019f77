package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import java.util.Optional;

/**
 * One command an {@link Operation} still needs, run as the login user or through become; a
 * {@link #detached} step runs in a systemd unit of that name that outlives the controller.
 */
public record Step(Cmd command, Optional<String> becomeUser, Optional<String> unit) {
    public static Step asRoot(Cmd command) {
        return new Step(command, Optional.of("root"), Optional.empty());
    }

    public static Step as(String user, Cmd command) {
        return new Step(command, Optional.of(user), Optional.empty());
    }

    public static Step login(Cmd command) {
        return new Step(command, Optional.empty(), Optional.empty());
    }

    /** The same step run detached, as unit {@code pgplay-NAME} (see {@code Detached}). */
    public Step detached(String name) {
        return new Step(command, Optional.of(becomeUser.orElse("root")), Optional.of(name));
    }
}
