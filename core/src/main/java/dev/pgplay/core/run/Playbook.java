package dev.pgplay.core.run;

import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/**
 * A named procedure the CLI can run: plays built for an inventory and extra vars. Implementations
 * are found with {@link java.util.ServiceLoader}, so a jar on the class path can add its own.
 */
public interface Playbook {
    /** The name on the command line, e.g. {@code rolling-minor}. */
    String name();

    /** One line for {@code playbook --list}. */
    String description();

    /**
     * The options it reads from {@code -e} (and the inventory's vars): checked by
     * {@link Options#validate} before any host is contacted, listed by {@code playbook NAME --help}.
     */
    default List<PlaybookOption> options() {
        return List.of();
    }

    /** The plays to run; may throw {@link IllegalArgumentException} naming a missing role or var. */
    List<Play> plays(Inventory inventory, Map<String, Object> extraVars);
}
