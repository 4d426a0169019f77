package dev.pgplay.playbooks;

import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.UpgradedFiles;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import java.util.ArrayList;
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
            return TaskResult.skipped("check mode: nothing to compare yet (" + run.m.depth().text() + ")");
        }
        if (run.before == null) {
            run.before = Snapshot.parse(Major.cat(ctx, run.cutOver.snapshotFile()));
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        long t0 = System.nanoTime();
        // as deep as the old cluster was read, whatever this run was asked
        Snapshot.Depth depth = run.m.depth("full".equals(run.status.get(Key.VERIFY, run.m.fullVerify() ? "full" : "catalog")));
        // the WAL and the files on disk are checked while the catalog is read: all fall inside the window of refused writes
        java.util.concurrent.ExecutorService side = java.util.concurrent.Executors.newFixedThreadPool(2);
        String[] walNow = new String[1];
        java.util.concurrent.Future<Snapshot.Row> walRow = side.submit(() -> wal(ctx, walNow));
        java.util.concurrent.Future<UpgradedFiles.Result> fileCheck = run.m.fileNumbers()
                ? side.submit(() -> UpgradedFiles.check(ctx, run.port(), run.status.get(Key.OLD_DATA), run.status.get(Key.NEW_DATA),
                        run.m.method().equals("link"), run.m.old().version()))
                : null;
        side.shutdown();
        List<Snapshot.Row> rows;
        UpgradedFiles.Result onDisk;
        try {
            Snapshot after = Snapshot.read(ctx, run.port(), run.jobs, Map.of(), depth);
            rows = new ArrayList<>(Snapshot.compare(run.before, after));
            rows.add(walRow.get());
            onDisk = fileCheck == null ? null : fileCheck.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException x ? x : new IllegalStateException(e.getCause());
        } finally {
            side.shutdownNow();
        }
        String files = "";
        if (onDisk != null) {
            onDisk.problems().forEach(p -> rows.add(new Snapshot.Row("data file " + p, "-", "-", "DIFFERENT")));
            files = ", " + onDisk.checked() + " relations' files " + (run.m.method().equals("link") ? "linked to the old ones" : "as long as the old ones");
        }
        List<String> table = Snapshot.table(rows);
        long bad = rows.stream().filter(r -> !r.ok()).count();
        long tables = rows.stream().filter(r -> r.item().contains(": table ") || r.item().contains(": sample ")).count();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (bad > 0) {
            return TaskResult.failed(bad + " difference(s) between " + run.m.old().version() + " and " + run.m.next().version(), Map.of("report", table));
        }
        // the WAL position read while nothing could write yet (nothing was opened before a verification), saved with it:
        // every write after the opening lies beyond it, and the rollback reads the WAL from there
        run.status.put(Key.WAL_AT_OPEN, walNow[0]).put(Key.VERIFIED_ITEMS, rows.size()).put(Key.VERIFIED_IN, depth.text() + files + ", " + ms + " ms").done(Step.VERIFIED, ctx);
        String what = depth.rows() ? " (" + tables + " tables with rows and checksums)" : depth.sample() ? " (" + tables + " tables sampled)" : "";
        return TaskResult.ok(rows.size() + " items identical" + what + files + " in " + ms + " ms", Map.of("report", table));
    }

    /**
     * The new cluster's WAL: out of recovery, its last checkpoint behind the insert position, on
     * the old cluster's timeline (pg_upgrade keeps it) or the first (dump and restore).
     */
    private Snapshot.Row wal(HostContext ctx, String[] insertLsn) {
        String v = run.next(ctx).sql("SELECT pg_is_in_recovery() || ' ' || (checkpoint_lsn <= pg_current_wal_insert_lsn()) || ' ' || timeline_id "
                + "|| ' ' || pg_current_wal_insert_lsn() FROM pg_control_checkpoint()").trim();
        String[] f = v.split(" ");
        boolean ok = f.length == 4 && f[0].equals("false") && f[1].equals("true");
        insertLsn[0] = f.length == 4 ? f[3] : null;
        v = f.length == 4 ? f[0] + " " + f[1] + " " + f[2] : v;
        return new Snapshot.Row("WAL of the new cluster", "-", "timeline " + (f.length == 4 ? f[2] : "?"),
                ok ? "sane (out of recovery, checkpoint behind the insert position)" : "DIFFERENT: " + v);
    }

    TaskResult open(HostContext ctx) throws Exception {
        if (run.status.done(Step.OPENED)) {
            return TaskResult.ok("opened earlier in this upgrade");
        }
        return Imperative.of("allow writes", List.of("ALTER SYSTEM RESET default_transaction_read_only")).run(ctx, () -> {
            // the rollback reads the WAL from WAL_AT_OPEN: the verification saved it while nothing could write (an earlier
            // mark only makes the rollback read more); a run cut after the opening keeps the mark it saved before it
            if (run.status.get(Key.WAL_AT_OPEN) == null) {
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

    /**
     * After the opening, when the window verified less than every row: every table of the new
     * cluster read in full (rows counted, content hashed), which makes the server read every page
     * (and verify its checksum where data checksums are on). It is not compared: with --link the
     * old cluster's files are these files, and with copy or clone the old cluster is stopped.
     */
    TaskResult audit(HostContext ctx) throws InterruptedException {
        if (run.status.done(Step.AUDITED)) {
            return TaskResult.ok("audited earlier: " + run.status.get(Key.AUDIT, "?"));
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: " + (run.m.fullVerify() ? "every row is compared while writes are blocked"
                    : "every row of the new cluster is read once writes are open"));
        }
        if (run.status.state() != State.UPGRADED || "full".equals(run.status.get(Key.VERIFY))) {
            return TaskResult.skipped(run.status.state() != State.UPGRADED ? "not upgraded" : "every row was compared while writes were blocked");
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        long t0 = System.nanoTime();
        Snapshot all;
        try {
            all = Snapshot.read(ctx, run.port(), run.jobs, Map.of(), Snapshot.Depth.FULL);
        } catch (RuntimeException e) {
            return TaskResult.failed("the new cluster is open and a table could not be read in full: " + e.getMessage()
                    + "; check it (amcheck, or pg_checksums while stopped) and restore from a backup if it is damaged");
        }
        long tables = 0;
        long rows = 0;
        for (var e : all.items().entrySet()) {
            if (e.getKey().contains(": table ")) {
                tables++;
                rows += Long.parseLong(e.getValue().substring(0, e.getValue().indexOf(' ')));
            }
        }
        String text = tables + " tables, " + rows + " rows read in full in " + (System.nanoTime() - t0) / 1_000_000 + " ms with writes open";
        run.status.put(Key.AUDIT, text).done(Step.AUDITED, ctx);
        return TaskResult.ok(text);
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
