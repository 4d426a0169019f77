package dev.pgplay.playbooks;

import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import java.util.List;
import java.util.Map;

/** The new cluster verified against the snapshot while read-only, then opened and analyzed. A step of {@link Major}. */
final class MajorVerify {
    private final Major run;

    MajorVerify(Major run) {
        this.run = run;
    }

    TaskResult verify(HostContext ctx) throws InterruptedException {
        if (run.status.done(Step.VERIFIED)) {
            return TaskResult.ok("verified earlier in this upgrade");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: nothing to compare yet");
        }
        if (run.before == null) {
            run.before = Snapshot.parse(Major.cat(ctx, run.cutOver.snapshotFile()));
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        Snapshot after = Snapshot.read(ctx, run.port(), run.jobs);
        List<Snapshot.Row> rows = Snapshot.compare(run.before, after);
        List<String> table = Snapshot.table(rows);
        long bad = rows.stream().filter(r -> !r.ok()).count();
        long tables = rows.stream().filter(r -> r.item().contains(": table ")).count();
        if (bad > 0) {
            return TaskResult.failed(bad + " difference(s) between " + run.m.old().version() + " and " + run.m.next().version(), Map.of("report", table));
        }
        run.status.put(Key.VERIFIED_ITEMS, rows.size()).done(Step.VERIFIED, ctx);
        return TaskResult.ok(rows.size() + " items identical (" + tables + " tables with rows and checksums)", Map.of("report", table));
    }

    TaskResult open(HostContext ctx) throws Exception {
        if (run.status.done(Step.OPENED)) {
            return TaskResult.ok("opened earlier in this upgrade");
        }
        return Imperative.of("allow writes", List.of("ALTER SYSTEM RESET default_transaction_read_only")).run(ctx, () -> {
            // read while nothing can write yet: every write after the opening lies beyond it (rollback reads the WAL from there);
            // a run cut after the opening keeps the mark it saved before it
            boolean openedBefore = "off".equals(run.next(ctx).sql("SHOW default_transaction_read_only"));
            if (!openedBefore || run.status.get(Key.WAL_AT_OPEN) == null) {
                run.status.put(Key.WAL_AT_OPEN, run.next(ctx).sql("SELECT pg_current_wal_insert_lsn()")).save(ctx);
            }
            run.next(ctx).sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            run.status.put(Key.OPENED_AT, System.currentTimeMillis()).state(State.UPGRADED).put(Key.MESSAGE, null).done(Step.OPENED, ctx);
            return TaskResult.changed("writes allowed on " + run.m.next().version(), List.of("ALTER SYSTEM RESET default_transaction_read_only"));
        });
    }

    TaskResult analyze(HostContext ctx) throws Exception {
        if (run.status.done(Step.ANALYZED)) {
            return TaskResult.ok("done earlier");
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        List<String> cmd = List.of(run.m.newBin("vacuumdb"), "-p", String.valueOf(run.port()), "--all", "--analyze-in-stages", "-j", String.valueOf(run.jobs));
        return Imperative.of("rebuild statistics", List.of(String.join(" ", cmd))).run(ctx, () -> {
            long t0 = System.nanoTime();
            Major.postgres(ctx, Cmd.of(cmd)).check(ctx.host().name());
            run.status.put(Key.USER_WRITES, userWrites(ctx, run.port())).done(Step.ANALYZED, ctx);
            return TaskResult.changed("statistics rebuilt in " + (System.nanoTime() - t0) / 1_000_000 + " ms", List.of(String.join(" ", cmd)));
        });
    }

    /** Rows inserted, updated or deleted in user tables since the server started (survives a clean restart). */
    static long userWrites(HostContext ctx, int port) {
        long sum = 0;
        for (String db : Psql.databases(ctx, port, "datallowconn")) {
            sum += Long.parseLong(Psql.rows(ctx, port, db,
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables").get(0).get(0));
        }
        return sum;
    }
}
