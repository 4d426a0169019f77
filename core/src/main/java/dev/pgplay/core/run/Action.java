package dev.pgplay.core.run;

/** What a task does on one host. Must honour {@link HostContext#checkMode()}: report, change nothing. */
@FunctionalInterface
public interface Action {
    TaskResult run(HostContext ctx) throws Exception;
}
