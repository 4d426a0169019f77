package dev.pgplay.core.run;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A named step of a play with Ansible's task options: when, retries/until/delay, ignore_errors,
 * changed_when, failed_when, tags, notify, register, run_once, delegate_to. Immutable; each
 * option returns a changed copy: {@code Task.of("restart", action).when(...).notify("reload")}.
 */
public final class Task implements Cloneable {
    private final String name;
    private final Action action;
    private Predicate<HostContext> condition = ctx -> true;
    private int retries;
    private Duration retryDelay = Duration.ofSeconds(1);
    private Predicate<TaskResult> until = r -> !r.isFailure();
    private boolean ignoreErrors;
    private Optional<Predicate<TaskResult>> changedWhen = Optional.empty();
    private Optional<Predicate<TaskResult>> failedWhen = Optional.empty();
    private Set<String> tags = Set.of();
    private List<String> notify = List.of();
    private Optional<String> register = Optional.empty();
    private boolean runOnce;
    private Optional<String> delegateTo = Optional.empty();
    private boolean flushHandlers;
    private Optional<Duration> irreversible = Optional.empty();

    private Task(String name, Action action) {
        this.name = name;
        this.action = action;
    }

    public static Task of(String name, Action action) {
        return new Task(name, action);
    }

    /** Ansible's {@code meta: flush_handlers}: notified handlers run here instead of at the end of the play. */
    public static Task flushHandlers() {
        Task t = new Task("flush handlers", ctx -> TaskResult.ok("handlers flushed"));
        t.flushHandlers = true;
        t.tags = Set.of("always");
        return t;
    }

    private Task copy() {
        try {
            return (Task) clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    public Task when(Predicate<HostContext> test) {
        Task t = copy();
        t.condition = test;
        return t;
    }

    /** Runs again up to {@code times} more, {@code pause} apart, until {@code test} holds; fails if it never does. */
    public Task retries(int times, Duration pause, Predicate<TaskResult> test) {
        Task t = copy();
        t.retries = times;
        t.retryDelay = pause;
        t.until = test;
        return t;
    }

    public Task ignoreErrors() {
        Task t = copy();
        t.ignoreErrors = true;
        return t;
    }

    public Task changedWhen(Predicate<TaskResult> test) {
        Task t = copy();
        t.changedWhen = Optional.of(test);
        return t;
    }

    public Task failedWhen(Predicate<TaskResult> test) {
        Task t = copy();
        t.failedWhen = Optional.of(test);
        return t;
    }

    public Task tags(String... names) {
        Task t = copy();
        t.tags = Set.of(names);
        return t;
    }

    /** Handlers (by name) to run once at the end of the play (or batch) when this task changed something. */
    public Task notify(String... handlers) {
        Task t = copy();
        t.notify = List.of(handlers);
        return t;
    }

    /** Keeps the result under {@code key}; later tasks read it with {@link HostContext#registered}. */
    public Task register(String key) {
        Task t = copy();
        t.register = Optional.of(key);
        return t;
    }

    /** Runs on the first host of the batch only; its result stands for every host. */
    public Task runOnce() {
        Task t = copy();
        t.runOnce = true;
        return t;
    }

    /** Runs on another inventory host (its connection, facts and vars); the result counts for the current host. */
    public Task delegateTo(String hostName) {
        Task t = copy();
        t.delegateTo = Optional.of(hostName);
        return t;
    }

    /**
     * Marks a step that cannot be undone (a promotion, a data directory wiped): with a maintenance
     * window, it does not begin unless {@code estimate} from now still ends inside the window.
     */
    public Task irreversible(Duration estimate) {
        Task t = copy();
        t.irreversible = Optional.of(estimate);
        return t;
    }

    public Optional<Duration> irreversibleEstimate() {
        return irreversible;
    }

    public String name() {
        return name;
    }

    public Action action() {
        return action;
    }

    public Predicate<HostContext> condition() {
        return condition;
    }

    public int retryCount() {
        return retries;
    }

    public Duration retryDelay() {
        return retryDelay;
    }

    public Predicate<TaskResult> retryUntil() {
        return until;
    }

    public boolean ignoresErrors() {
        return ignoreErrors;
    }

    public Optional<Predicate<TaskResult>> changedCondition() {
        return changedWhen;
    }

    public Optional<Predicate<TaskResult>> failedCondition() {
        return failedWhen;
    }

    public Set<String> tagSet() {
        return tags;
    }

    public List<String> handlersToNotify() {
        return notify;
    }

    public Optional<String> registerAs() {
        return register;
    }

    public boolean once() {
        return runOnce;
    }

    public Optional<String> delegate() {
        return delegateTo;
    }

    public boolean isFlushHandlers() {
        return flushHandlers;
    }

    @Override
    public String toString() {
        return name;
    }
}
