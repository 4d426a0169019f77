package dev.pgplay.core.run;

/** What a task does on one host. Must honour {@link HostContext#checkMode()}: report, change nothing. */
@FunctionalInterface
public interface Action {
    TaskResult run(HostContext ctx) throws Exception;

    /** {@link #run}, an exception turned into a failed result with its message. */
    default TaskResult attempt(HostContext ctx) {
        try {
            return run(ctx);
        } catch (Exception e) {
            return TaskResult.failed(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }
}
