package dev.pgplay.postgres;

import dev.pgplay.core.modules.Facts;
import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.ssh.Cmd;
import java.util.List;
import java.util.Optional;

/**
 * A Debian PostgreSQL cluster (version/name) started, stopped (fast shutdown) or restarted:
 * {@code systemctl ... postgresql@V-N} where systemd runs, else {@code pg_ctlcluster}.
 */
public final class PgCluster implements Operation {
    private enum State { STARTED, STOPPED, RESTARTED, RELOADED }

    private final String version;
    private final String cluster;
    private final State state;

    private PgCluster(String version, String cluster, State state) {
        this.version = version;
        this.cluster = cluster;
        this.state = state;
    }

    public static PgCluster started(String version, String cluster) {
        return new PgCluster(version, cluster, State.STARTED);
    }

    public static PgCluster stopped(String version, String cluster) {
        return new PgCluster(version, cluster, State.STOPPED);
    }

    public static PgCluster restarted(String version, String cluster) {
        return new PgCluster(version, cluster, State.RESTARTED);
    }

    public static PgCluster reloaded(String version, String cluster) {
        return new PgCluster(version, cluster, State.RELOADED);
    }

    /** The cluster as pg_lsclusters shows it, if it exists. */
    public static Optional<PgFacts.Cluster> find(HostContext ctx, String version, String cluster) {
        return ctx.fact(PgFacts.CLUSTERS).stream()
                .filter(c -> c.version().equals(version) && c.name().equals(cluster)).findFirst();
    }

    @Override
    public Plan plan(HostContext ctx) {
        PgFacts.Cluster c = find(ctx, version, cluster).orElseThrow(() ->
                new IllegalStateException("no PostgreSQL cluster " + version + "/" + cluster + " on " + ctx.host().name()));
        boolean online = c.online();
        String verb = switch (state) {
            case STARTED -> online ? null : "start";
            case STOPPED -> online ? "stop" : null;
            case RESTARTED -> "restart";
            case RELOADED -> online ? "reload" : null;
        };
        if (verb == null) {
            return Plan.nothing(version + "/" + cluster + " is " + c.status());
        }
        boolean systemd = "systemd".equals(ctx.fact(Facts.INIT));
        Cmd cmd = systemd
                ? Cmd.of("systemctl", verb, "postgresql@" + version + "-" + cluster)
                : "stop".equals(verb) ? Cmd.of("pg_ctlcluster", version, cluster, "stop", "-m", "fast")
                : Cmd.of("pg_ctlcluster", version, cluster, verb);
        return Plan.of(verb + " PostgreSQL " + version + "/" + cluster, Step.asRoot(cmd));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(PgFacts.CLUSTERS);
    }
}
