package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import java.util.List;
import java.util.Optional;

/** A standby rebuilt from the upgraded primary (its old data kept aside until it streams). A step of {@link Major}. */
final class StandbyRebuild {
    private final Major run;

    StandbyRebuild(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- standbys

    TaskResult rebuildStandby(HostContext ctx) throws Exception {
        HostContext p = ctx.on(run.m.old().primary());
        UpgradeStatus ps = UpgradeStatus.read(p, run.cluster());
        if (ps.state() != State.UPGRADED || !run.m.next().version().equals(ps.get(Key.NEW_VERSION))) {
            return TaskResult.skipped("the primary is not upgraded (" + ps.summary() + ")");
        }
        UpgradeStatus ss = UpgradeStatus.read(ctx, run.cluster());
        String primaryAddress = ctx.inventory().host(run.m.old().primary()).address();
        Optional<PgFacts.Cluster> existing = run.find(ctx, run.m.next().version());
        if (ss.state() == State.STANDBY_REBUILT && run.m.next().version().equals(ss.get(Key.NEW_VERSION)) && existing.map(PgFacts.Cluster::online).orElse(false)
                && run.next(ctx).streamingFrom(primaryAddress)) {
            return TaskResult.ok("already rebuilt, streaming from " + run.m.old().primary());
        }
        List<String> plan = List.of("stop " + run.m.old().version() + "/" + run.cluster() + " (kept, not started at boot)",
                "create " + run.m.next().version() + "/" + run.cluster() + " with the configuration carried over",
                "pg_basebackup from " + run.m.old().primary(), "standby.signal + primary_conninfo", "start");
        if ("rsync".equals(ss.get(Key.METHOD)) && ss.state() == State.REBUILDING && ss.done(UpgradeStatus.Step.COPIED) && existing.isPresent()) {
            // made by rsync --hard-links while the primary was stopped: only started now, after the primary
            List<String> started = List.of("start.conf auto", "start " + run.m.next().version() + "/" + run.cluster());
            return Imperative.of("start " + ctx.host().name() + "'s " + run.m.next().version() + " (made by rsync)", started).run(ctx, () -> {
                run.cutOver.startConf(ctx, run.m.next().version(), "auto");
                if (!existing.get().online()) { // read just above
                    run.next(ctx).start(existing.get().dataDir());
                }
                ss.state(State.STANDBY_REBUILT).save(ctx);
                return TaskResult.changed("made by rsync --hard-links from " + run.m.old().primary() + " (" + ss.get(Key.MESSAGE, "") + "), started", started);
            });
        }
        return Imperative.of("rebuild " + ctx.host().name() + " for " + run.m.next().version(), plan).run(ctx, () -> {
            UpgradeStatus mine = newClusterOn(ctx, ps, "pg_basebackup");
            TaskResult cloned = ClusterSetup.cloneStandby(ctx, run.m.next(), true);
            if (cloned.isFailure()) {
                return cloned;
            }
            run.cutOver.startConf(ctx, run.m.next().version(), "auto");
            mine.state(State.STANDBY_REBUILT).save(ctx);
            return TaskResult.changed("rebuilt for " + run.m.next().version() + " from " + run.m.old().primary() + "; " + run.m.old().version()
                    + " kept on port " + ps.number(Key.SIDE_PORT), plan);
        });
    }

    /**
     * On a standby: its old cluster stopped and kept (side port, never started at boot), a new
     * cluster made (manual until it is a standby) with the configuration carried over, on the main
     * port; its status says REBUILDING by {@code method}. Refused when a new cluster with data
     * that is not pgplay's is there.
     */
    UpgradeStatus newClusterOn(HostContext ctx, UpgradeStatus ps, String method) throws Exception {
        return newClusterOn(ctx, ps, method, true);
    }

    /**
     * {@link #newClusterOn(HostContext, UpgradeStatus, String)}, or with {@code stopOld} false
     * made ahead while the old cluster still serves: the new one on the side port (both are
     * moved once the old one has stopped), its status step CONFIG done.
     */
    UpgradeStatus newClusterOn(HostContext ctx, UpgradeStatus ps, String method, boolean stopOld) throws Exception {
        UpgradeStatus ss = UpgradeStatus.read(ctx, run.cluster());
        Optional<PgFacts.Cluster> existing = run.find(ctx, run.m.next().version());
        int side = (int) ps.number(Key.SIDE_PORT);
        Optional<PgFacts.Cluster> oldCluster = run.find(ctx, run.m.old().version());
        if (stopOld && oldCluster.isPresent()) {
            run.cutOver.startConf(ctx, run.m.old().version(), "manual"); // kept, never started again by a reboot or a package
        }
        if (stopOld && oldCluster.isPresent() && oldCluster.get().online()) {
            Pg.root(ctx, Cmd.of("pg_ctlcluster", run.m.old().version(), run.cluster(), "stop", "-m", "fast"));
        }
        if (existing.isPresent() && !ss.flag(Key.NEW_CREATED)) {
            String why = run.newCluster.emptyOrWhy(ctx, existing.get());
            if (why != null) {
                throw new IllegalStateException(run.m.next().version() + "/" + run.cluster() + " on this standby " + why + "; refusing to replace it");
            }
        }
        if (existing.isPresent()) {
            Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", run.m.next().version(), run.cluster()));
        }
        if (stopOld && oldCluster.isPresent()) {
            Pg.root(ctx, Cmd.of("pg_conftool", run.m.old().version(), run.cluster(), "set", "port", String.valueOf(side)));
        }
        // manual until it is a clone with standby.signal: an empty new cluster started by a reboot would be a writable primary
        Pg.root(ctx, Cmd.of("pg_createcluster", run.m.next().version(), run.cluster(), "--port", String.valueOf(stopOld ? run.port() : side),
                "--start-conf", "manual"));
        PgFacts.Cluster made = run.find(ctx, run.m.next().version()).orElseThrow();
        UpgradeStatus mine = UpgradeStatus.fresh(run.cluster()).state(State.REBUILDING).put(Key.OLD_VERSION, run.m.old().version())
                .put(Key.NEW_VERSION, run.m.next().version()).put(Key.METHOD, method).put(Key.PORT, run.port()).put(Key.SIDE_PORT, side)
                .put(Key.NEW_CREATED, true).put(Key.NEW_DATA, made.dataDir())
                .put(Key.OLD_DATA, oldCluster.map(PgFacts.Cluster::dataDir).orElse(""));
        mine.save(ctx);
        if (oldCluster.isPresent()) {
            run.newCluster.carryConfig(ctx, mine);
            if (stopOld) {
                // the carried configuration took the side port; this cluster serves on the main port
                Pg.root(ctx, Cmd.of("pg_conftool", run.m.next().version(), run.cluster(), "set", "port", String.valueOf(run.port())));
            }
        }
        if (!stopOld) {
            mine.done(UpgradeStatus.Step.CONFIG, ctx);
        }
        return mine;
    }
}
