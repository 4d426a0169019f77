package dev.pgplay.core.run;

import dev.pgplay.core.ssh.SshTransport;
import dev.pgplay.core.ssh.Transport;
import dev.pgplay.core.ssh.UnreachableException;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs plays against an inventory over SSH, Ansible's linear strategy: forks hosts in parallel,
 * serial batches, max_fail_percentage, any_errors_fatal, handlers, check and diff mode, tags.
 * Never prints: every event goes to the listeners. Build with {@link #builder(Inventory)}.
 */
public final class Runner {
    private static final Logger LOG = LoggerFactory.getLogger(Runner.class);
    /** Hosts worked on in parallel unless {@link Builder#forks} says otherwise: 5, as in Ansible. */
    public static final int DEFAULT_FORKS = 5;

    private final Inventory inventory;
    private final List<RunListener> listeners;
    private final boolean checkMode;
    private final boolean diffMode;
    private final int forks;
    private final Optional<String> limit;
    private final Set<String> tags;
    private final Set<String> skipTags;
    private final Map<String, Object> extraVars;
    private final Transport externalTransport;
    private final MaintenanceWindow window;
    private final RunLock lock;
    private final java.time.Clock clock;
    private volatile RunState state;
    private volatile boolean cancelRequested;

    private Runner(Builder b) {
        this.inventory = b.inventory;
        this.listeners = List.copyOf(b.listeners);
        this.checkMode = b.checkMode;
        this.diffMode = b.diffMode;
        this.forks = b.forks;
        this.limit = Optional.ofNullable(b.limit);
        this.tags = Set.copyOf(b.tags);
        this.skipTags = Set.copyOf(b.skipTags);
        this.extraVars = Map.copyOf(b.extraVars);
        this.externalTransport = b.transport;
        this.window = b.window;
        this.lock = b.lock;
        this.clock = b.clock;
    }

    public static Builder builder(Inventory inventory) {
        return new Builder(inventory);
    }

    /** Asks the run to stop: the tasks under way finish, nothing new starts. */
    public void cancel() {
        cancelRequested = true;
        RunState s = state;
        if (s != null) {
            s.cancel();
        }
    }

    /** The hosts a play would run on, after --limit. */
    public List<Host> hostsOf(Play play) {
        List<Host> selected = inventory.select(play.hosts());
        if (limit.isPresent()) {
            Set<String> allowed = new HashSet<>();
            inventory.select(limit.get()).forEach(h -> allowed.add(h.name()));
            selected = selected.stream().filter(h -> allowed.contains(h.name())).toList();
        }
        return selected;
    }

    /** Whether --tags/--skip-tags select this task. */
    public boolean selected(Task task) {
        if (!Collections.disjoint(task.tagSet(), skipTags)) {
            return false;
        }
        return tags.isEmpty() || task.tagSet().contains("always") || !Collections.disjoint(task.tagSet(), tags);
    }

    private void refuseOutsideWindow() {
        if (window != null && !window.contains(java.time.ZonedDateTime.now(clock))) {
            throw new IllegalStateException("window " + window + ": now is "
                    + java.time.ZonedDateTime.now(clock).withZoneSameInstant(window.zone()).toLocalTime().withNano(0)
                    + ", outside the window; nothing was run");
        }
    }

    /** The run lock on every target (none in check mode or without a lock); false when a host refused it. */
    private boolean acquireLock(List<Host> targets, RunState run, ExecutorService pool, Map<String, HostStats> stats) {
        if (lock == null || checkMode || targets.isEmpty()) {
            return true;
        }
        Play lockPlay = Play.of("run lock", names(targets)).task(lock.acquire()).failFast();
        targets.forEach(h -> stats.putIfAbsent(h.name(), HostStats.ZERO));
        run.listeners().playStarted(lockPlay, targets);
        return runBatch(lockPlay, targets, run, pool, stats, new HashSet<>());
    }

    private void runPlays(List<Play> plays, RunState run, ExecutorService pool, Map<String, HostStats> stats) {
        Set<String> dead = new HashSet<>();
        for (Play play : plays) {
            if (run.cancelled()) {
                return;
            }
            List<Host> hosts = hostsOf(play);
            hosts.forEach(h -> stats.putIfAbsent(h.name(), HostStats.ZERO));
            run.listeners().playStarted(play, hosts);
            for (List<Host> batch : Play.batches(hosts, play.serial())) {
                if (!runBatch(play, batch, run, pool, stats, dead) || run.cancelled()) {
                    if (play.anyErrorsFatal()) {
                        return; // as Ansible's any_errors_fatal: the run ends, no later play starts
                    }
                    break;
                }
            }
        }
    }

    /** Releases the run lock where this run holds it, whatever happened before. */
    private void releaseLock(List<Host> targets, RunState run, ExecutorService pool, Map<String, HostStats> stats) {
        if (lock == null) {
            return;
        }
        List<Host> holding = targets.stream().filter(h -> lock.holds(h.name())).toList();
        if (!holding.isEmpty()) {
            Play release = Play.of("run lock", names(holding)).task(lock.release());
            run.listeners().playStarted(release, holding);
            runBatch(release, holding, run, pool, stats, new HashSet<>());
        }
    }

    /**
     * Runs the plays. Throws {@link IllegalStateException} before contacting any host when a
     * maintenance window is set and now is outside it.
     */
    public RunResult run(String playbook, List<Play> plays) {
        refuseOutsideWindow();
        long start = System.nanoTime();
        Listeners events = new Listeners(listeners);
        Transport transport = externalTransport != null ? externalTransport : new SshTransport();
        RunState run = new RunState(inventory, transport, checkMode, diffMode, extraVars, events);
        state = run;
        if (cancelRequested) {
            run.cancel();
        }
        Map<String, HostStats> stats = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, forks), r -> {
            Thread t = new Thread(r, "pgplay-fork");
            t.setDaemon(true);
            return t;
        });
        events.runStarted(playbook, checkMode);
        try {
            // every host a play names is locked, --limit or not: a task may reach a partner host
            // (the standby of the primary it runs on), and another run must not work there meanwhile
            List<Host> targets = new ArrayList<>();
            for (Play play : plays) {
                inventory.select(play.hosts()).stream().filter(h -> !targets.contains(h)).forEach(targets::add);
            }
            try {
                if (acquireLock(targets, run, pool, stats)) {
                    runPlays(plays, run, pool, stats);
                }
            } finally {
                releaseLock(targets, run, pool, stats);
            }
        } finally {
            pool.shutdownNow();
            if (externalTransport == null) {
                transport.close();
            }
            state = null;
        }
        RunResult result = new RunResult(Collections.unmodifiableMap(stats), Duration.ofNanos(System.nanoTime() - start), run.cancelled());
        events.runFinished(result);
        return result;
    }

    /** Runs the play on one batch; false when the play must stop (any_errors_fatal, max_fail_percentage). */
    private boolean runBatch(Play play, List<Host> batch, RunState run, ExecutorService pool,
                             Map<String, HostStats> stats, Set<String> dead) {
        Set<Host> active = new LinkedHashSet<>();
        batch.stream().filter(h -> !dead.contains(h.name())).forEach(active::add);
        Map<String, Set<String>> notified = new LinkedHashMap<>();
        AtomicInteger failedInBatch = new AtomicInteger();
        boolean keepGoing = true;
        for (Task task : play.tasks()) {
            if (active.isEmpty() || run.cancelled()) {
                break;
            }
            if (!selected(task)) {
                continue;
            }
            if (task.isFlushHandlers()) {
                runHandlers(play, active, notified, run, pool, stats, dead);
                continue;
            }
            run.listeners().taskStarted(play, task, false);
            Map<Host, TaskResult> results = runOnHosts(task, new ArrayList<>(active), run, pool);
            boolean anyFailure = false;
            for (Map.Entry<Host, TaskResult> e : results.entrySet()) {
                Host host = e.getKey();
                TaskResult r = e.getValue();
                if (r instanceof TaskResult.Changed && !task.handlersToNotify().isEmpty()) {
                    notified.computeIfAbsent(host.name(), k -> new LinkedHashSet<>()).addAll(task.handlersToNotify());
                }
                if (record(task, host, r, stats, dead, active)) {
                    failedInBatch.incrementAndGet();
                    anyFailure = true;
                }
            }
            if (anyFailure && play.anyErrorsFatal()) {
                keepGoing = false;
                break;
            }
            if (failedInBatch.get() * 100.0 / batch.size() > play.maxFailPercentage()) {
                keepGoing = false;
                break;
            }
        }
        if (keepGoing && !run.cancelled()) {
            runHandlers(play, active, notified, run, pool, stats, dead);
        }
        return keepGoing;
    }

    private void runHandlers(Play play, Set<Host> active, Map<String, Set<String>> notified, RunState run,
                             ExecutorService pool, Map<String, HostStats> stats, Set<String> dead) {
        for (Task handler : play.handlers()) {
            List<Host> hosts = active.stream()
                    .filter(h -> notified.getOrDefault(h.name(), Set.of()).contains(handler.name())).toList();
            if (hosts.isEmpty()) {
                continue;
            }
            run.listeners().taskStarted(play, handler, true);
            Map<Host, TaskResult> results = runOnHosts(handler, hosts, run, pool);
            for (Map.Entry<Host, TaskResult> e : results.entrySet()) {
                notified.getOrDefault(e.getKey().name(), new HashSet<>()).remove(handler.name());
                record(handler, e.getKey(), e.getValue(), stats, dead, active);
            }
        }
    }

    /** Counts a result in the stats; a failed (not ignored) or unreachable host leaves the play. True when it left. */
    private static boolean record(Task task, Host host, TaskResult r, Map<String, HostStats> stats, Set<String> dead, Set<Host> active) {
        boolean ignored = r instanceof TaskResult.Failed && task.ignoresErrors();
        stats.merge(host.name(), HostStats.ZERO.add(r, ignored), Runner::sum);
        if ((r instanceof TaskResult.Failed && !ignored) || r instanceof TaskResult.Unreachable) {
            dead.add(host.name());
            active.remove(host);
            return true;
        }
        return false;
    }

    private Map<Host, TaskResult> runOnHosts(Task task, List<Host> hosts, RunState run, ExecutorService pool) {
        Map<Host, TaskResult> results = new LinkedHashMap<>();
        if (task.once()) {
            Host first = hosts.get(0);
            TaskResult r = execute(task, run.context(first), run);
            run.listeners().hostResult(first, task, r);
            results.put(first, r);
            for (Host other : hosts.subList(1, hosts.size())) {
                if (r.isFailure()) {
                    results.put(other, r);
                }
                task.registerAs().ifPresent(key -> run.context(other).register(key, r));
            }
            return results;
        }
        Map<Host, Future<TaskResult>> futures = new LinkedHashMap<>();
        for (Host h : hosts) {
            futures.put(h, pool.submit(() -> {
                TaskResult r = execute(task, run.context(h), run);
                run.listeners().hostResult(h, task, r);
                return r;
            }));
        }
        for (Map.Entry<Host, Future<TaskResult>> e : futures.entrySet()) {
            try {
                results.put(e.getKey(), e.getValue().get());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                run.cancel();
                results.put(e.getKey(), TaskResult.failed("interrupted"));
            } catch (ExecutionException ex) {
                // a listener that threw: the result still reaches the others and the recap, with what was thrown
                TaskResult failed = TaskResult.failed(String.valueOf(ex.getCause()));
                results.put(e.getKey(), failed);
                try {
                    run.listeners().hostResult(e.getKey(), task, failed);
                } catch (RuntimeException again) {
                    LOG.warn("{}: a listener failed on the result of '{}'", e.getKey().name(), task.name(), again);
                }
            }
        }
        return results;
    }

    private TaskResult execute(Task task, HostContext ctx, RunState run) {
        ctx.current(task);
        TaskResult r;
        try {
            java.time.ZonedDateTime now = java.time.ZonedDateTime.now(clock);
            if (!task.condition().test(ctx)) {
                r = TaskResult.skipped("condition is false");
            } else if (window != null && task.irreversibleEstimate().isPresent() && !run.checkMode()
                    && !window.fits(now, task.irreversibleEstimate().get())) {
                r = TaskResult.failed("refusing to begin an irreversible step: its estimate of "
                        + task.irreversibleEstimate().get().toSeconds() + " s would end after the window " + window
                        + " closes; run again in the next window");
            } else {
                HostContext target = task.delegate().map(ctx::on).orElse(ctx);
                target.current(task);
                int attempt = 0;
                while (true) {
                    r = judge(task, task.action().run(target));
                    if (task.retryCount() == 0 || task.retryUntil().test(r) || r instanceof TaskResult.Unreachable) {
                        break;
                    }
                    if (attempt >= task.retryCount() || run.cancelled()) {
                        if (!r.isFailure()) {
                            r = TaskResult.failed("condition not met after " + (attempt + 1) + " attempts: " + r.message(), r.data());
                        }
                        break;
                    }
                    attempt++;
                    ctx.progress("retrying (" + attempt + "/" + task.retryCount() + "): " + r.message());
                    Thread.sleep(task.retryDelay().toMillis());
                }
            }
        } catch (UnreachableException e) {
            r = new TaskResult.Unreachable(e.getMessage(), Map.of());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r = TaskResult.failed("interrupted");
        } catch (Exception e) {
            LOG.debug("{}: task '{}' failed", ctx.host().name(), task.name(), e);
            r = TaskResult.failed(e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (LinkageError | StackOverflowError | AssertionError e) {
            // a task's own defect is its failure, shown like any other, not a result that never reaches a listener
            LOG.warn("{}: task '{}' failed with {}", ctx.host().name(), task.name(), e, e);
            r = TaskResult.failed(e.toString());
        }
        TaskResult fin = r;
        task.registerAs().ifPresent(key -> ctx.register(key, fin));
        return r;
    }

    /** Applies failed_when and changed_when to what the action returned. */
    private static TaskResult judge(Task task, TaskResult r) {
        if (r instanceof TaskResult.Unreachable || r instanceof TaskResult.Skipped) {
            return r;
        }
        if (task.failedCondition().isPresent()) {
            boolean failed = task.failedCondition().get().test(r);
            if (failed && !(r instanceof TaskResult.Failed)) {
                return TaskResult.failed("failed_when is true: " + r.message(), r.data());
            }
            if (!failed && r instanceof TaskResult.Failed) {
                r = TaskResult.ok(r.message(), r.data());
            }
        }
        if (task.changedCondition().isPresent() && !(r instanceof TaskResult.Failed)) {
            boolean changed = task.changedCondition().get().test(r);
            if (changed && r instanceof TaskResult.Ok) {
                return new TaskResult.Changed(r.message(), List.of(), Optional.empty(), r.data());
            }
            if (!changed && r instanceof TaskResult.Changed) {
                return TaskResult.ok(r.message(), r.data());
            }
        }
        return r;
    }

    private static String names(List<Host> hosts) {
        return String.join(",", hosts.stream().map(Host::name).toList());
    }

    private static HostStats sum(HostStats a, HostStats b) {
        return new HostStats(a.ok() + b.ok(), a.changed() + b.changed(), a.unreachable() + b.unreachable(),
                a.failed() + b.failed(), a.skipped() + b.skipped(), a.ignored() + b.ignored());
    }

    /** Fluent configuration of a run. */
    public static final class Builder {
        private final Inventory inventory;
        private final List<RunListener> listeners = new ArrayList<>();
        private boolean checkMode;
        private boolean diffMode;
        private int forks = DEFAULT_FORKS;
        private String limit;
        private final Set<String> tags = new HashSet<>();
        private final Set<String> skipTags = new HashSet<>();
        private final Map<String, Object> extraVars = new LinkedHashMap<>();
        private Transport transport;
        private MaintenanceWindow window;
        private RunLock lock;
        private java.time.Clock clock = java.time.Clock.systemDefaultZone();

        private Builder(Inventory inventory) {
            this.inventory = inventory;
        }

        public Builder listener(RunListener listener) {
            listeners.add(listener);
            return this;
        }

        public Builder checkMode(boolean on) {
            checkMode = on;
            return this;
        }

        public Builder diffMode(boolean on) {
            diffMode = on;
            return this;
        }

        /** Hosts worked on in parallel (default 5, like Ansible). */
        public Builder forks(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("forks must be at least 1, got " + n);
            }
            forks = n;
            return this;
        }

        public Builder limit(String pattern) {
            limit = pattern;
            return this;
        }

        public Builder tags(Set<String> names) {
            tags.addAll(names);
            return this;
        }

        public Builder skipTags(Set<String> names) {
            skipTags.addAll(names);
            return this;
        }

        public Builder extraVars(Map<String, ?> vars) {
            extraVars.putAll(vars);
            return this;
        }

        /** Use this transport (not closed by the run) instead of one per run. */
        public Builder transport(Transport shared) {
            transport = shared;
            return this;
        }

        /** Refuse to start outside this window, and to begin an irreversible step that would not end inside it. */
        public Builder window(MaintenanceWindow w) {
            window = w;
            return this;
        }

        /** Take a run lock on every target host first (not in check mode); release it at the end. */
        public Builder runLock(RunLock l) {
            lock = l;
            return this;
        }

        /** The clock the window is checked against (tests). */
        public Builder clock(java.time.Clock c) {
            clock = c;
            return this;
        }

        public Runner build() {
            return new Runner(this);
        }
    }
}
