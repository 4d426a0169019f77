package dev.pgplay.core.modules;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.ssh.Cmd;
import java.util.List;
import java.util.Optional;

/**
 * A service started, stopped or restarted: systemctl where systemd runs, otherwise the SysV
 * {@code service} command. PostgreSQL clusters have their own module, {@link PgCluster}.
 */
public final class Service implements Operation {
    private enum State { STARTED, STOPPED, RESTARTED, RELOADED }

    private final String name;
    private final State state;

    private Service(String name, State state) {
        this.name = name;
        this.state = state;
    }

    public static Service started(String name) {
        return new Service(name, State.STARTED);
    }

    public static Service stopped(String name) {
        return new Service(name, State.STOPPED);
    }

    public static Service restarted(String name) {
        return new Service(name, State.RESTARTED);
    }

    public static Service reloaded(String name) {
        return new Service(name, State.RELOADED);
    }

    private Fact<Boolean> running(boolean systemd) {
        Cmd cmd = systemd ? Cmd.of("systemctl", "is-active", "--quiet", name) : Cmd.of("service", name, "status");
        return Fact.asUser("root", "service_running:" + name, cmd, r -> true, false);
    }

    @Override
    public Plan plan(HostContext ctx) {
        boolean systemd = "systemd".equals(ctx.fact(Facts.INIT));
        boolean running = ctx.fact(running(systemd));
        String verb = switch (state) {
            case STARTED -> running ? null : "start";
            case STOPPED -> running ? "stop" : null;
            case RESTARTED -> "restart";
            case RELOADED -> running ? "reload" : "start";
        };
        if (verb == null) {
            return Plan.nothing(name + " is " + (running ? "running" : "stopped"));
        }
        Cmd cmd = systemd ? Cmd.of("systemctl", verb, name) : Cmd.of("service", name, verb);
        return Plan.of(verb + " " + name, Step.asRoot(cmd));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(running(true), running(false));
    }

    Optional<String> name() {
        return Optional.of(name);
    }
}
