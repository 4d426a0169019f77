package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Transport;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** What a run shares across hosts: inventory, transport, modes, extra vars, contexts, listeners. */
final class RunState {
    private final Inventory inventory;
    private final Transport transport;
    private final boolean checkMode;
    private final boolean diffMode;
    private final Map<String, Object> extraVars;
    private final Listeners listeners;
    private final Map<String, HostContext> contexts = new ConcurrentHashMap<>();
    private volatile boolean cancelled;

    RunState(Inventory inventory, Transport transport, boolean checkMode, boolean diffMode,
             Map<String, Object> extraVars, Listeners listeners) {
        this.inventory = inventory;
        this.transport = transport;
        this.checkMode = checkMode;
        this.diffMode = diffMode;
        this.extraVars = Map.copyOf(extraVars);
        this.listeners = listeners;
    }

    HostContext context(Host host) {
        return contexts.computeIfAbsent(host.name(), n -> new HostContext(host, this));
    }

    Inventory inventory() {
        return inventory;
    }

    Transport transport() {
        return transport;
    }

    boolean checkMode() {
        return checkMode;
    }

    boolean diffMode() {
        return diffMode;
    }

    Map<String, Object> extraVars() {
        return extraVars;
    }

    Listeners listeners() {
        return listeners;
    }

    boolean cancelled() {
        return cancelled;
    }

    void cancel() {
        cancelled = true;
    }
}
