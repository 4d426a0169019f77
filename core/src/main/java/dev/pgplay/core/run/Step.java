package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import java.util.Optional;

/** One command an {@link Operation} still needs, run as the login user or through become. */
public record Step(Cmd command, Optional<String> becomeUser) {
    public static Step asRoot(Cmd command) {
        return new Step(command, Optional.of("root"));
    }

    public static Step as(String user, Cmd command) {
        return new Step(command, Optional.of(user));
    }

    public static Step login(Cmd command) {
        return new Step(command, Optional.empty());
    }
}
