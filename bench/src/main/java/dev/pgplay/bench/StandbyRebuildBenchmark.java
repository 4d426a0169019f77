package dev.pgplay.bench;

import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import dev.pgplay.playbooks.ClusterSetup;
import dev.pgplay.playbooks.MajorUpgrade;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/bench standby}: a PostgreSQL 13 primary with SIZE MB of data and a streaming standby,
 * upgraded to 15 with pg_upgrade --link; the standby brought to 15 by rsync --hard-links
 * ({@code standby-rebuild=auto}) in one lab and by pg_basebackup in another: the time the standby
 * took (for rsync: the rsync step, inside the window, plus its start; for pg_basebackup: the
 * rebuild after the primary opened), the primary's writes refused, and the standby's content
 * against the primary's once it streams.
 */
public final class StandbyRebuildBenchmark {
    private StandbyRebuildBenchmark() {
    }

    record Figures(String how, long standby, long refused, String detail, boolean same) {
    }

    public static void main(String[] args) throws Exception {
        int mb = Integer.parseInt(System.getProperty("size", "4096"));
        Map<String, Figures> all = new LinkedHashMap<>();
        for (String how : List.of("auto", "pg_basebackup")) {
            all.put(how, one(mb, how));
        }
        System.out.printf("%n== summary: standby brought to 15 after pg_upgrade --link of %d MB (one run, same lab image) ==%n", mb);
        System.out.printf("%-14s %14s %18s %6s  %s%n", "standby", "standby ms", "writes refused ms", "same", "detail");
        all.forEach((how, f) -> System.out.printf("%-14s %14d %18d %6s  %s%n", how.equals("auto") ? "rsync" : how, f.standby(), f.refused(), f.same(), f.detail()));
        Figures r = all.get("auto");
        Figures b = all.get("pg_basebackup");
        System.out.printf("rsync / pg_basebackup: %.3f (target < 0.10)%n", (double) r.standby() / b.standby());
    }

    static Figures one(int mb, String how) throws Exception {
        try (Lab lab = Lab.builder().hosts("db1", "db2").start()) {
            LabHost db1 = lab.host("db1");
            LabHost db2 = lab.host("db2");
            Path pw = lab.dir().resolve("replication-password");
            Files.writeString(pw, "bench-" + System.nanoTime() + "\n");
            Inventory inv = Inventory.load(lab.writeInventory("pg.conf", """
                    roles { primary = db1, standby = [db2] }
                    vars { pg-version = "13", replication-password-file = "%s" }
                    """.formatted(pw)));
            for (LabHost h : List.of(db1, db2)) {
                h.docker("sh", "-c", "pg_dropcluster --stop 15 main && pg_conftool 13 main set port 5432 "
                        + "&& echo auto > /etc/postgresql/13/main/start.conf && pg_ctlcluster 13 main start");
            }
            SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, new ClusterSetup().plays(inv, Map.of()), Map.of(), null), "cluster-setup on 13");
            long t0 = System.nanoTime();
            UpgradeBenchmark.fill(db1, mb);
            replayed(db1, db2);
            String size = SwitchoverBenchmark.sql(db1, "postgres", "SELECT pg_size_pretty(pg_database_size('bench'))");
            System.out.printf("%n== %s: database bench is %s, on the standby too (made in %d s) ==%n", how, size, (System.nanoTime() - t0) / 1_000_000_000L);
            Map<String, Object> vars = new HashMap<>();
            vars.put("new-version", "15");
            vars.put("method", "link");
            vars.put("standby-rebuild", how);
            TaskTimer rsync = new TaskTimer(name -> name.startsWith("standbys: caught up"));
            TaskTimer rebuild = new TaskTimer(name -> name.startsWith("rebuilt from the upgraded primary")).quiet();
            SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, new MajorUpgrade().plays(inv, vars), vars, new Both(rsync, rebuild)), "link upgrade (" + how + ")");
            long standby = Math.max(0, rsync.millis()) + Math.max(0, rebuild.millis());
            Map<String, Long> st = UpgradeBenchmark.status(db1);
            String sums = "SELECT string_agg(t || ' ' || n, ',' ORDER BY t) FROM (SELECT 't1' t, count(*) n FROM t1 UNION ALL SELECT 't8', count(*) FROM t8) x";
            replayed(db1, db2);
            boolean same = SwitchoverBenchmark.sql(db1, "bench", sums).equals(SwitchoverBenchmark.sql(db2, "bench", sums))
                    && SwitchoverBenchmark.sql(db2, "postgres", "SELECT status FROM pg_stat_wal_receiver").equals("streaming");
            String detail = (rsync.millis() >= 0 ? "rsync " + rsync.millis() + " ms (" + rsync.message() + "), " : "") + "rebuild step " + rebuild.millis() + " ms";
            System.out.printf("%s: standby %d ms; primary's writes refused %d ms; %s; same content and streaming: %s%n", how, standby,
                    st.get("opened-at") - st.get("blocked-at"), detail, same);
            return new Figures(how, standby, st.get("opened-at") - st.get("blocked-at"), detail, same);
        }
    }

    /** Waits until the standby has replayed the primary's WAL up to where it is now. */
    static void replayed(LabHost primary, LabHost standby) throws InterruptedException {
        String lsn = SwitchoverBenchmark.sql(primary, "postgres", "SELECT pg_current_wal_lsn()");
        while (!"t".equals(SwitchoverBenchmark.sql(standby, "postgres", "SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn"))) {
            Thread.sleep(200);
        }
    }

    /** Two timers as one listener. */
    private record Both(TaskTimer a, TaskTimer b) implements dev.pgplay.core.run.RunListener {
        @Override
        public void taskStarted(dev.pgplay.core.run.Play play, dev.pgplay.core.run.Task task, boolean handler) {
            a.taskStarted(play, task, handler);
            b.taskStarted(play, task, handler);
        }

        @Override
        public void hostResult(dev.pgplay.inventory.Host host, dev.pgplay.core.run.Task task, dev.pgplay.core.run.TaskResult result) {
            a.hostResult(host, task, result);
            b.hostResult(host, task, result);
        }
    }
}
