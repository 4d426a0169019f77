package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Writes blocked, the old cluster read for verification, ports and start.conf swapped. A step of {@link Major}. */
final class CutOver {
    private final Major run;

    CutOver(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- the cut-over

    TaskResult blockWrites(HostContext ctx) throws Exception {
        if (run.status.done(Step.WRITES_BLOCKED)) {
            if (!run.status.done(Step.OLD_STOPPED) && !run.status.done(Step.SWAPPED) && reopened(run.old(ctx))) {
                // someone opened the old cluster again: what was copied may be stale
                run.status.undo(List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.GLOBALS, Step.COPIED, Step.COPY_STARTED));
            } else {
                return TaskResult.ok("blocked earlier in this upgrade");
            }
        }
        List<String> cmds = List.of("CHECKPOINT", "ALTER SYSTEM SET default_transaction_read_only = on", "pg_terminate_backend(client backends)");
        return Imperative.of("block writes on " + run.m.old().version() + "/" + run.cluster(), cmds).run(ctx, () -> {
            Pg o = run.old(ctx);
            // while writes still flow: the shutdown checkpoint inside the window then has little left to write
            o.sql("CHECKPOINT");
            if (run.m.rsync() && !run.m.dump()) {
                run.standbyRsync.restartpoints(ctx, o.sql("SELECT pg_current_wal_lsn()"));
            }
            run.status.state(State.UPGRADING).put(Key.BLOCKED_AT, System.currentTimeMillis()).put(Key.MESSAGE, null);
            run.status.done(Step.WRITES_BLOCKED, ctx);
            return TaskResult.changed("writes blocked, " + block(o) + " client session(s) ended", cmds);
        });
    }

    /**
     * Blocks writes on a server: {@code default_transaction_read_only} on (ALTER SYSTEM, so a
     * restart keeps it) and its client sessions ended; returns how many were.
     */
    static String block(Pg o) {
        String ended = o.sql("ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf(); " + END_SESSIONS);
        return ended.lines().reduce((x, y) -> y).orElse("0");
    }

    /** Ends the client sessions of a server (not pgplay's own); prints how many. */
    static final String END_SESSIONS = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

    /** Whether someone opened a server whose writes were blocked (what was read or copied since may be stale). */
    static boolean reopened(Pg o) {
        return o.online() && !"on".equals(o.sql("SHOW default_transaction_read_only"));
    }

    String snapshotFile() {
        return UpgradeStatus.DIR + "/major-" + run.cluster() + ".before";
    }

    TaskResult snapshot(HostContext ctx) throws InterruptedException {
        if (run.status.done(Step.SNAPSHOT)) {
            run.before = Snapshot.parse(Major.cat(ctx, snapshotFile()));
            return TaskResult.ok("read earlier in this upgrade: " + run.before.items().size() + " items");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: the old cluster is read when writes are blocked");
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        long t0 = System.nanoTime();
        Snapshot.Depth depth = run.m.depth();
        run.before = Snapshot.read(ctx, run.port(), run.jobs, java.util.Map.of(), depth);
        UpgradeStatus.write(ctx, snapshotFile(), run.before.text(), "0600");
        run.status.put(Key.VERIFY, run.m.fullVerify() ? "full" : "catalog").done(Step.SNAPSHOT, ctx);
        long dbs = run.before.items().keySet().stream().filter(k -> k.endsWith(": database")).count();
        return TaskResult.ok(run.before.items().size() + " items (" + depth.text() + ") from " + dbs + " database(s) in "
                + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    TaskResult swap(HostContext ctx) throws Exception {
        if (run.status.done(Step.SWAPPED)) {
            if (!run.next(ctx).online()) {
                run.next(ctx).start();
                return TaskResult.changed("started " + run.m.next().version() + " again", List.of("pg_ctl start"));
            }
            return TaskResult.ok("swapped earlier in this upgrade");
        }
        List<String> cmds = List.of("pg_conftool " + run.m.next().version() + " " + run.cluster() + " set port " + run.port(),
                "pg_conftool " + run.m.old().version() + " " + run.cluster() + " set port " + run.sidePort(), "start.conf: auto / manual",
                "default_transaction_read_only = on in " + run.m.next().version() + "'s postgresql.auto.conf until verified", "start");
        return Imperative.of("swap ports and start " + run.m.next().version(), cmds).run(ctx, () -> {
            // one read of the cluster list for both (pg_lsclusters costs 70-100 ms inside the window)
            boolean oldOnline = run.find(ctx, run.m.old().version()).map(PgFacts.Cluster::online).orElse(false);
            boolean nextOnline = PgCluster.find(ctx, run.m.next().version(), run.cluster()).map(PgFacts.Cluster::online).orElse(false);
            if (oldOnline) {
                String unclean = run.pgUpgradeMove.stoppedUncleanly(run.old(ctx).stopAndReadControl());
                if (unclean != null) {
                    return TaskResult.failed(unclean);
                }
            }
            if (nextOnline) {
                run.nextOn(ctx, run.sidePort()).stopFast();
            }
            ports(ctx, true);
            Pg.markReadOnly(ctx, run.status.get(Key.NEW_DATA));
            if (run.m.method().equals("link")) {
                run.status.put(Key.MESSAGE, "link mode: the new cluster was started; the old one cannot be used any more");
            }
            run.status.put(Key.NEW_STARTED, true).save(ctx);
            run.next(ctx).start(run.status.get(Key.NEW_DATA));
            run.status.put(Key.UP_AT, System.currentTimeMillis()).done(Step.SWAPPED, ctx);
            return TaskResult.changed(run.m.next().version() + " runs on port " + run.port() + " (read-only until verified); " + run.m.old().version()
                    + " kept on port " + run.sidePort(), cmds);
        });
    }

    /** Writes a cluster's start.conf (auto: started at boot and by package scripts; manual: only when asked). */
    void startConf(HostContext ctx, String version, String value) {
        new Pg(ctx, version.equals(run.m.old().version()) ? run.m.old() : run.m.next()).startConf(value, false);
    }

    /** Ports and start.conf: the new cluster on the main port ({@code forward}) or back on its side port. */
    void ports(HostContext ctx, boolean forward) {
        String nv = run.m.next().version();
        String ov = run.m.old().version();
        int newPort = forward ? run.port() : run.sidePort();
        int oldPort = forward ? run.sidePort() : run.port();
        // one round trip, the two pg_conftool (perl, 100 ms each) at once: the swap falls inside the window of refused writes
        Pg.root(ctx, Cmd.of("pg_conftool", nv, run.cluster(), "set", "port", String.valueOf(newPort))
                .alongside(Cmd.of("pg_conftool", ov, run.cluster(), "set", "port", String.valueOf(oldPort)))
                .and(Cmd.of("sh", "-c", "echo \"$1\" > \"/etc/postgresql/$2/$4/start.conf\" && echo \"$3\" > \"/etc/postgresql/$5/$4/start.conf\"",
                        "sh", forward ? "auto" : "manual", nv, forward ? "manual" : "auto", run.cluster(), ov)));
        ctx.forget(PgFacts.CLUSTERS);
    }
}
