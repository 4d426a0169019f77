package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Connection;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A task's view of the host it runs on: the inventory host, its connection (opened on first use),
 * vars (inventory vars overridden by extra vars), cached facts, values registered by earlier
 * tasks, check and diff mode, and a way to report progress lines.
 */
public final class HostContext {
    private final Host host;
    private final RunState run;
    private final Map<String, Object> facts = new ConcurrentHashMap<>();
    private final Map<String, TaskResult> registered = new ConcurrentHashMap<>();
    private volatile Task current;

    HostContext(Host host, RunState run) {
        this.host = host;
        this.run = run;
    }

    public Host host() {
        return host;
    }

    public Inventory inventory() {
        return run.inventory();
    }

    /** The SSH connection to this host; throws {@link dev.pgplay.core.ssh.UnreachableException}. */
    public Connection connection() {
        return run.transport().connect(host);
    }

    /**
     * Another connection to this host ({@code lane} 1, 2, ...; 0 is {@link #connection()}), for
     * work that keeps more channels open at once than one SSH connection may carry.
     */
    public Connection connection(int lane) {
        return lane == 0 ? connection() : run.transport().connect(host, lane);
    }

    /** The context of another inventory host in this run (for steps that involve two hosts). */
    public HostContext on(String hostName) {
        return run.context(run.inventory().host(hostName));
    }

    public boolean checkMode() {
        return run.checkMode();
    }

    public boolean diffMode() {
        return run.diffMode();
    }

    /** A var: extra vars first, then the host's inventory vars. */
    public Optional<Object> var(String name) {
        Object extra = run.extraVars().get(name);
        return Optional.ofNullable(extra != null ? extra : host.vars().get(name));
    }

    public String var(String name, String fallback) {
        return var(name).map(Object::toString).orElse(fallback);
    }

    public boolean flag(String name) {
        return var(name).map(v -> v instanceof Boolean b ? b : Boolean.parseBoolean(v.toString())).orElse(false);
    }

    /** A fact, gathered once per run (and again after {@link #forget}). */
    @SuppressWarnings("unchecked")
    public <T> T fact(Fact<T> fact) {
        Object cached = facts.get(fact.name());
        if (cached != null) {
            return (T) cached;
        }
        ExecResult r = connection().exec(fact.command(), ExecOptions.of(fact.becomeUser(), fact.input()));
        T value = r.ok() ? fact.parser().apply(r) : fact.fallback();
        if (value != null) {
            facts.put(fact.name(), value);
        }
        return value;
    }

    public void forget(Fact<?> fact) {
        facts.remove(fact.name());
    }

    /** Forgets every fact (e.g. after a reboot or a package upgrade). */
    public void forgetAll() {
        facts.clear();
    }

    /** A result an earlier task registered under {@code name} on this host. */
    public Optional<TaskResult> registered(String name) {
        return Optional.ofNullable(registered.get(name));
    }

    void register(String name, TaskResult result) {
        registered.put(name, result);
    }

    /** Reports a line of progress (a long wait, a command's output) to the listeners. */
    public void progress(String line) {
        run.listeners().progress(host, current, line);
    }

    void current(Task task) {
        this.current = task;
    }

    /** True once the run was cancelled: long waits should stop. */
    public boolean cancelled() {
        return run.cancelled();
    }
}
