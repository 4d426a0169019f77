package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.WalWrites;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.inventory.Inventory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Goes back to the old major after major-upgrade or major-dump, as the status on the primary
 * records it: the new cluster is stopped and moved to its side port, the old one takes its port
 * back, starts and takes writes; standbys return to their old cluster. Refused when it is no
 * longer possible (link mode after the new cluster ran, old cluster deleted) and when the new
 * cluster has taken writes that would be lost (-e accept-data-loss=true to go back anyway).
 */
public final class MajorRollback implements Playbook {
    @Override
    public String name() {
        return "major-rollback";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.of(dev.pgplay.core.run.PlaybookOption.bool("accept-data-loss", false,
                "go back even when the new cluster took writes (they are lost)"));
    }

    @Override
    public String description() {
        return "go back to the old major after major-upgrade/major-dump while that is possible (refuses to lose writes)";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        PgSettings base = PgSettings.of(inventory, extra, false);
        boolean acceptLoss = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("accept-data-loss", "false")));
        Major[] run = new Major[1];
        boolean[] primaryBack = new boolean[1];
        Play primary = Play.of("major rollback on the primary", base.primary()).failFast()
                .task(Task.of("where things stand (status on the host)", ctx -> {
                    UpgradeStatus st = UpgradeStatus.read(ctx, base.cluster());
                    switch (st.state()) {
                        case NONE, ROLLED_BACK:
                            return TaskResult.ok("nothing to roll back (" + st.state() + ")");
                        case CLEANED:
                            return TaskResult.failed("the old cluster was deleted by major-cleanup; restore from a backup");
                        default:
                            break;
                    }
                    run[0] = of(base, st);
                    if (st.get(Key.METHOD, "").equals("link") && st.flag(Key.NEW_STARTED)) {
                        return TaskResult.failed("no way back: the upgrade used pg_upgrade --link and " + st.get(Key.NEW_VERSION)
                                + " has run, so the old cluster's data files are changed. Restore from a backup.");
                    }
                    return TaskResult.ok(st.summary());
                }))
                .task(Task.of("no writes to the new cluster would be lost", ctx -> {
                    Major mj = run[0];
                    if (mj.status.state() != State.UPGRADED) {
                        return TaskResult.ok("the new cluster was never opened for writes");
                    }
                    return tookWrites(ctx, mj, acceptLoss);
                }).when(ctx -> run[0] != null))
                .task(Task.of("old cluster back on its port, taking writes", ctx -> {
                    Major mj = run[0];
                    List<String> cmds = List.of("pg_ctlcluster stop", "pg_conftool set port", "pg_ctlcluster start");
                    return Imperative.of("stop " + mj.m.next().version() + " and start " + mj.m.old().version() + " on port " + mj.port(), cmds).run(ctx, () -> {
                        mj.recovery.back(ctx);
                        primaryBack[0] = true;
                        mj.status.state(State.ROLLED_BACK).undo(Major.UNDONE_BY_GOING_BACK)
                                .put(Key.NEW_STARTED, false).put(Key.NEW_FRESH, false).put(Key.MESSAGE, null).save(ctx);
                        return TaskResult.changed(mj.m.old().version() + "/" + mj.cluster() + " runs on port " + mj.port() + " and takes writes; "
                                + mj.m.next().version() + " stopped, kept on port " + mj.sidePort() + " (a new major-upgrade run replaces it)", cmds);
                    });
                }).when(ctx -> run[0] != null));
        Play standbys = Play.of("standbys back on the old major", String.join(",", base.standbys())).serial("1")
                .task(Task.of("old cluster back as a standby", ctx -> standbyBack(ctx, run[0])).when(ctx -> primaryBack[0] || ctx.checkMode() && run[0] != null))
                .task(Task.of("streaming from the primary", ctx -> WaitFor.sql(run[0].port(),
                        "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver",
                        "streaming " + ctx.inventory().host(base.primary()).address()).timeout(Duration.ofSeconds(90)).run(ctx))
                        .when(ctx -> primaryBack[0] && !ctx.checkMode()));
        return base.standbys().isEmpty() ? List.of(primary) : List.of(primary, standbys);
    }

    /**
     * Decided by the new cluster's WAL since the moment it was opened (WalWrites): any write, be it
     * rows, TRUNCATE, DDL, a sequence or a large object, would be lost by going back. An upgrade
     * recorded before the WAL position was kept falls back to the row counters.
     */
    static TaskResult tookWrites(HostContext ctx, Major mj, boolean acceptLoss) {
        String next = mj.m.next().version();
        String since = mj.status.get(Key.WAL_AT_OPEN);
        String write;
        if (since != null) {
            try {
                write = WalWrites.first(ctx, mj.next(ctx), since).orElse(null);
            } catch (IllegalStateException e) {
                write = "unknown: " + e.getMessage();
            }
        } else {
            long rows = MajorVerify.userWrites(ctx, mj.port()) - mj.status.number(Key.USER_WRITES);
            write = rows == 0 ? null : rows < 0 ? "unknown: its statistics were reset" : rows + " row change(s)";
        }
        if (write == null) {
            return TaskResult.ok("no writes to " + next + " since it was opened" + (since == null ? " (row counters)" : " (its WAL since " + since + ")"));
        }
        if (acceptLoss) {
            return TaskResult.ok("writes made on " + next + " since the upgrade will be LOST (accept-data-loss): " + write);
        }
        return TaskResult.failed(next + " took writes since it was opened (" + write + "); going back would lose them. "
                + "Copy them first, or run again with -e accept-data-loss=true");
    }

    static Major of(PgSettings base, UpgradeStatus st) {
        PgSettings old = base.with(st.get(Key.OLD_VERSION), base.port());
        PgSettings next = base.with(st.get(Key.NEW_VERSION), base.port());
        Major mj = new Major(new MajorSettings(old, next, st.get(Key.METHOD, "copy"), 0, true, false, false, false));
        mj.status = st;
        return mj;
    }

    static TaskResult standbyBack(HostContext ctx, Major mj) throws Exception {
        UpgradeStatus st = UpgradeStatus.read(ctx, mj.cluster());
        if (st.state() != State.STANDBY_REBUILT && st.state() != State.REBUILDING) {
            return TaskResult.ok("not rebuilt for " + mj.m.next().version() + " (" + st.state() + ")");
        }
        return Imperative.of("stop " + mj.m.next().version() + " and start " + mj.m.old().version(), List.of("pg_ctlcluster")).run(ctx, () -> {
            ctx.forget(PgFacts.CLUSTERS);
            Optional<PgFacts.Cluster> n = PgCluster.find(ctx, mj.m.next().version(), mj.cluster());
            if (n.isPresent() && n.get().online()) {
                Pg.root(ctx, Cmd.of("pg_ctlcluster", "--force", mj.m.next().version(), mj.cluster(), "stop"));
            }
            Major sm = new Major(mj.m);
            sm.status = st;
            sm.cutOver.ports(ctx, false);
            new Pg(ctx, mj.m.old()).start();
            st.state(State.ROLLED_BACK).save(ctx);
            return TaskResult.changed(mj.m.old().version() + " runs again as a standby on port " + mj.port(), List.of("pg_ctlcluster"));
        });
    }
}
