package dev.pgplay.bench;

import dev.pgplay.core.output.ConsoleListener;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import dev.pgplay.playbooks.ClusterSetup;
import dev.pgplay.playbooks.RollingMinor;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/bench switchover}: on a lab pair built by cluster-setup, with Debian's PgBouncer on a
 * third host, (1) SWITCHOVERS planned switchovers (20) with switch = [vip] and a writer through the
 * VIP, the baseline; (2) as many with switch = [vip, pgbouncer] and two writers at once, one
 * through the VIP, one through PgBouncer (its failed transactions counted). For each: the write
 * gap (longest time between two acknowledged commits), median and max, the acknowledged commits
 * checked on the final primary, and a monitor polling both nodes for a moment with two writable.
 * (3) The old primary's rejoin time for a database of SCALE pgbench scale (66 is about 1 GB) by
 * the method rolling-minor chooses, against pg_basebackup, in the same run.
 */
public final class SwitchoverBenchmark {
    private SwitchoverBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int switchovers = Integer.parseInt(System.getProperty("switchovers", "20"));
        int scale = Integer.parseInt(System.getProperty("scale", "66"));
        try (Lab lab = Lab.builder().hosts("db1", "db2", "pgb").start()) {
            String vip = lab.freeVip();
            Path pw = lab.dir().resolve("replication-password");
            Files.writeString(pw, "bench-" + System.nanoTime() + "\n");
            String common = """
                    roles { primary = db1, standby = [db2], vip { address = "%s", prefix = 24, interface = eth0 } }
                    groups { pgbouncer { hosts = [pgb] } }
                    vars { replication-password-file = "%s", client-networks = ["%s"] }
                    """.formatted(vip, pw, lab.network().subnet());
            Inventory inv = Inventory.load(lab.writeInventory("pg.conf", common));
            Inventory withBouncer = Inventory.load(lab.writeInventory("pg-bouncer.conf", common + "vars { switch = [vip, pgbouncer] }\n"));
            check(run(inv, new ClusterSetup().plays(inv, Map.of()), Map.of(), null), "cluster-setup");
            sql(lab.host("db1"), "postgres", "CREATE ROLE app LOGIN PASSWORD 'app-pw'");
            sql(lab.host("db1"), "postgres", "CREATE DATABASE app OWNER app");
            sql(lab.host("db1"), "app", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp()); ALTER TABLE writes OWNER TO app");
            dev.pgplay.lab.LabPgBouncer.start(lab.host("pgb"), lab.host("db1").address());
            check(run(withBouncer, new RollingMinor().plays(withBouncer, Map.of()), Map.of(), null), "rolling-minor (the upgrade itself)");
            // the same lab, the same number of switchovers: first the VIP alone (the baseline), then with PgBouncer as well
            phase(lab, vip, inv, switchovers, 1L, false);
            if (!Boolean.parseBoolean(System.getProperty("bouncer", "true"))) {
                return; // -Dbouncer=false: the VIP's phase alone
            }
            phase(lab, vip, withBouncer, switchovers, 1_000_000_000L, true);

            System.out.printf("%n== rejoin of the old primary, pgbench scale %d ==%n", scale);
            String primary = inRecovery(lab.host("db1")) ? "db2" : "db1";
            lab.host(primary).docker("su", "postgres", "-c", "pgbench -i -q -s " + scale + " app");
            String size = sql(lab.host(primary), "postgres", "SELECT pg_size_pretty(pg_database_size('app'))");
            System.out.println("database size: " + size);
            long auto = rejoinMillis(inv, "auto");
            long base = rejoinMillis(inv, "pg_basebackup");
            System.out.printf("rejoin by the chosen method: %d ms; by pg_basebackup: %d ms; ratio %.1f%% (target < 10%%)%n",
                    auto, base, 100.0 * auto / base);
        }
    }

    /** SWITCHOVERS planned switchovers with a writer through the VIP, and with {@code bouncer} one through PgBouncer too. */
    static void phase(Lab lab, String vip, Inventory inv, int switchovers, long firstId, boolean bouncer) throws Exception {
        System.out.printf("%n== switch = %s: write gap of a writer through the VIP%s, %d switchovers (systemd hosts) ==%n",
                bouncer ? "[vip, pgbouncer]" : "[vip]", bouncer ? " and of one through PgBouncer" : "", switchovers);
        List<Long> gaps = new ArrayList<>();
        List<Long> bouncerGaps = new ArrayList<>();
        String url = "jdbc:postgresql://" + vip + ":5432/app?connectTimeout=1&socketTimeout=2&loginTimeout=2";
        String viaBouncer = "jdbc:postgresql://" + lab.host("pgb").address() + ":6432/app?prepareThreshold=0&connectTimeout=2&socketTimeout=30&loginTimeout=5";
        Writer writer = new Writer(url, 10_000_000, firstId).start();
        Writer second = bouncer ? new Writer(viaBouncer, 10_000_000, firstId + 500_000_000L).start() : null;
        WritableMonitor monitor = new WritableMonitor(direct(lab.host("db1")), direct(lab.host("db2"))).start();
        try {
            Thread.sleep(1000);
            for (int i = 1; i <= switchovers; i++) {
                long from = System.nanoTime();
                Map<String, Object> vars = Map.of("switchover", "true");
                TaskTimer timer = new TaskTimer(name -> false); // -Dtimings=true: every task's start and time
                check(run(inv, new RollingMinor().plays(inv, vars), vars, timer), "switchover " + i);
                Thread.sleep(500);
                long gap = writer.longestGapMillisSince(from);
                if (Boolean.getBoolean("timings")) {
                    long[] g = writer.longestGapSince(from);
                    System.out.printf("    the writer's gap: from %d ms to %d ms%n", (g[0] - timer.created) / 1_000_000, (g[1] - timer.created) / 1_000_000);
                }
                gaps.add(gap);
                if (second != null) {
                    long g = second.longestGapMillisSince(from);
                    bouncerGaps.add(g);
                    System.out.printf("switchover %d: longest gap between acknowledged commits %d ms through the VIP, %d ms through PgBouncer "
                            + "(%d failed so far)%n", i, gap, g, second.failures());
                } else {
                    System.out.printf("switchover %d: longest gap between acknowledged commits %d ms through the VIP%n", i, gap);
                }
            }
            Thread.sleep(500);
        } finally {
            writer.close();
            if (second != null) {
                second.close();
            }
            monitor.close();
        }
        List<Long> sorted = gaps.stream().sorted().toList();
        System.out.printf("through the VIP: write gap median %d ms, max %d ms over %d switchovers (target without PgBouncer: max < 300 ms)%n",
                sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), sorted.size());
        String primaryNow = inRecovery(lab.host("db1")) ? "db2" : "db1";
        System.out.printf("  acknowledged commits %d, lost %d, failed %d%n", writer.acknowledged().size(), lost(lab.host(primaryNow), writer.acknowledged()),
                writer.failures());
        if (second != null) {
            List<Long> b = bouncerGaps.stream().sorted().toList();
            System.out.printf("through PgBouncer: longest commit gap median %d ms, max %d ms (target: max < 1000 ms); acknowledged commits %d, "
                    + "lost %d, failed transactions %d (target 0)%n", b.get(b.size() / 2), b.get(b.size() - 1), second.acknowledged().size(),
                    lost(lab.host(primaryNow), second.acknowledged()), second.failures());
        }
        System.out.printf("moments with two writable nodes: %d of %d monitor rounds (10 ms)%n", monitor.bothWritable(), monitor.rounds());
    }

    static long rejoinMillis(Inventory inv, String method) throws Exception {
        Map<String, Object> vars = Map.of("switchover", "true", "rejoin-method", method);
        TaskTimer timer = new TaskTimer(name -> name.startsWith("old primary: rejoin"));
        check(run(inv, new RollingMinor().plays(inv, vars), vars, timer), "switchover with rejoin-method=" + method);
        System.out.printf("rejoin-method=%s: %d ms (%s)%n", method, timer.millis(), timer.message());
        return timer.millis();
    }

    static RunResult run(Inventory inv, List<Play> plays, Map<String, Object> vars, RunListener extra) {
        Runner.Builder b = Runner.builder(inv).extraVars(vars)
                .listener(new ConsoleListener(new PrintStream(OutputStream.nullOutputStream()), 0, false));
        if (extra != null) {
            b.listener(extra);
        }
        return b.build().run("bench", plays);
    }

    static void check(RunResult r, String what) {
        if (r.exitCode() != 0) {
            throw new IllegalStateException(what + " failed: " + r.stats());
        }
    }

    /** The acknowledged ids missing from table writes of database app on {@code host}. */
    static long lost(LabHost host, List<Long> acknowledged) {
        java.util.Set<Long> present = new java.util.HashSet<>();
        for (String line : sql(host, "app", "SELECT id FROM writes").split("\n")) {
            if (!line.isBlank()) {
                present.add(Long.parseLong(line.trim()));
            }
        }
        return acknowledged.stream().filter(id -> !present.contains(id)).count();
    }

    static String sql(LabHost host, String db, String sql) {
        return host.docker("su", "postgres", "-c", "psql -X -q -t -A -v ON_ERROR_STOP=1 -d " + db + " -c \"$0\"", sql).strip();
    }

    static String direct(LabHost host) {
        return "jdbc:postgresql://" + host.address() + ":5432/app?connectTimeout=1&socketTimeout=2&loginTimeout=2";
    }

    static boolean inRecovery(LabHost host) {
        return "t".equals(sql(host, "postgres", "SELECT pg_is_in_recovery()"));
    }
}
