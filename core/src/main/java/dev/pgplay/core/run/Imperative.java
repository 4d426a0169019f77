package dev.pgplay.core.run;

import java.util.List;

/**
 * The one sanctioned kind of step that is not planned from facts: work that must happen as a
 * whole, in order, on the critical path (stop and fence, pg_upgrade, a verified promotion). It
 * carries its dry-run description, so check mode reports "would ..." with the commands and runs
 * nothing, without a hand-written branch in the step.
 */
public final class Imperative {
    private final String description;
    private final List<String> commands;

    private Imperative(String description, List<String> commands) {
        this.description = description;
        this.commands = List.copyOf(commands);
    }

    /** {@code description} reads after "would": "stop 13/main (CHECKPOINT, fast shutdown)". */
    public static Imperative of(String description, List<String> commands) {
        return new Imperative(description, commands);
    }

    /** The work itself, run only outside check mode. */
    @FunctionalInterface
    public interface Work {
        TaskResult run() throws Exception;
    }

    /** In check mode: changed, "would DESCRIPTION", the commands; otherwise what {@code work} returns. */
    public TaskResult run(HostContext ctx, Work work) throws Exception {
        if (ctx.checkMode()) {
            return TaskResult.changed("would " + description, commands);
        }
        return work.run();
    }
}
