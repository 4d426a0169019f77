package dev.pgplay.bench;

import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.Writer;
import dev.pgplay.playbooks.BlueGreenPrepare;
import dev.pgplay.playbooks.BlueGreenRollback;
import dev.pgplay.playbooks.BlueGreenSwitch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/bench bluegreen}: blue (PostgreSQL 13 on db1, SIZES MB in 8 tables) and green (15 on
 * db2); an independent writer inserts through the VIP all along. Per size: the time of
 * bluegreen-prepare (initial copy included), then a switch and a rollback, each with writes
 * refused as the writer saw them (the longest gap between two acknowledged commits) and as the
 * run measured them (blocked to opened), and the acknowledged commits checked on the side that
 * takes writes at the end. Blue is shaped like a site ({@code -Dsite=false} for the bench database
 * alone): more databases than PostgreSQL's 4 logical replication workers, one with an odd name, a
 * materialized view, an unlogged table with rows (left empty on green: unlogged-tables=empty).
 */
public final class BlueGreenBenchmark {
    private BlueGreenBenchmark() {
    }

    record Figures(int mb, String size, int databases, long prepare, long switchGap, long switchRun, long rollbackGap, long rollbackRun, long lost) {
    }

    public static void main(String[] args) throws Exception {
        List<Figures> all = new ArrayList<>();
        for (String s : System.getProperty("sizes", "1024,4096").split(",")) {
            all.add(one(Integer.parseInt(s.trim())));
        }
        System.out.printf("%n== summary (one run, same lab image; writes refused in ms: writer's longest gap / the run's block-to-open) ==%n");
        System.out.printf("%-8s %-8s %10s %12s %18s %18s %6s%n", "asked", "size", "databases", "prepare s", "switch", "rollback", "lost");
        for (Figures f : all) {
            System.out.printf("%-8s %-8s %10d %12d %18s %18s %6d%n", f.mb() + " MB", f.size(), f.databases(), f.prepare() / 1000,
                    f.switchGap() + " / " + f.switchRun(), f.rollbackGap() + " / " + f.rollbackRun(), f.lost());
        }
        System.out.println("target: writes refused < 2 s at every size; compare major-upgrade --link in bin/bench upgrade");
    }

    static Figures one(int mb) throws Exception {
        try (Lab lab = Lab.builder().hosts("db1", "db2").start()) {
            LabHost blue = lab.host("db1");
            String vip = lab.freeVip();
            Path pw = lab.dir().resolve("replication-password");
            Files.writeString(pw, "bench-" + System.nanoTime() + "\n");
            Inventory inv = Inventory.load(lab.writeInventory("pg.conf", """
                    roles { primary = db1, vip { address = "%s", prefix = 24, interface = eth0, owner = db1 } }
                    groups { green { hosts = [db2] } }
                    vars { pg-version = "13", replication-password-file = "%s", client-networks = ["%s"] }
                    """.formatted(vip, pw, lab.network().subnet())));
            blue.docker("sh", "-c", "pg_dropcluster --stop 15 main && pg_conftool 13 main set port 5432 && pg_conftool 13 main set wal_level logical "
                    + "&& pg_conftool 13 main set listen_addresses '*' && echo auto > /etc/postgresql/13/main/start.conf && pg_ctlcluster 13 main start");
            SwitchoverBenchmark.sql(blue, "postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE app LOGIN PASSWORD 'app-pw'");
            SwitchoverBenchmark.sql(blue, "postgres", "CREATE DATABASE app OWNER app");
            SwitchoverBenchmark.sql(blue, "app", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());"
                    + " ALTER TABLE writes OWNER TO app");
            long t0 = System.nanoTime();
            UpgradeBenchmark.fill(blue, mb);
            boolean site = !"false".equals(System.getProperty("site", "true"));
            if (site) {
                site(blue);
            }
            int databases = Integer.parseInt(SwitchoverBenchmark.sql(blue, "postgres", "SELECT count(*) FROM pg_database WHERE datallowconn AND NOT datistemplate"));
            String size = SwitchoverBenchmark.sql(blue, "postgres", "SELECT pg_size_pretty(pg_database_size('bench'))");
            System.out.printf("%n== %d MB asked: database bench is %s (made in %d s) ==%n", mb, size, (System.nanoTime() - t0) / 1_000_000_000L);
            SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, List.of(Play.of("VIP", "db1")
                    .task(Task.of("VIP on blue", VirtualIp.present(inv.roles().vip().get())))), Map.of(), null), "VIP on blue");
            Map<String, Object> vars = new HashMap<>();
            vars.put("new-version", "15");
            if (site) {
                vars.put("unlogged-tables", "empty");
            }
            String url = "jdbc:postgresql://" + vip + ":5432/app?connectTimeout=1&socketTimeout=2&loginTimeout=2";
            try (Writer writer = new Writer(url, 100_000_000).start()) {
                Thread.sleep(1000);
                long p0 = System.nanoTime();
                SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, new BlueGreenPrepare().plays(inv, vars), vars, null), "bluegreen-prepare");
                long prepare = (System.nanoTime() - p0) / 1_000_000;
                System.out.printf("prepare (schema, initial copy, catch-up, ANALYZE): %d s%n", prepare / 1000);
                long[] sw = timed(inv, vars, writer, true);
                long[] back = timed(inv, vars, writer, false);
                Thread.sleep(500);
                writer.close();
                long lost = SwitchoverBenchmark.lost(blue, writer.acknowledged());
                System.out.printf("acknowledged commits: %d, lost: %d%n", writer.acknowledged().size(), lost);
                return new Figures(mb, size, databases, prepare, sw[0], sw[1], back[0], back[1], lost);
            }
        }
    }

    /**
     * A site's shape beside the bench database: five more databases (one with an odd name) with a
     * keyed table each, a materialized view, an unlogged table with rows; the workers blue's
     * pre-flight asks for (one per database for the way back), set and restarted as a site would.
     */
    static void site(LabHost blue) {
        for (String db : List.of("crm", "reports", "billing", "audit", "crm \"eu\" 2026")) {
            SwitchoverBenchmark.sql(blue, "postgres", "CREATE DATABASE " + dev.pgplay.postgres.Psql.ident(db));
            blue.docker("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dev.pgplay.postgres.Psql.conninfo(db), "-c",
                    "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 20000) g");
        }
        SwitchoverBenchmark.sql(blue, "bench", "CREATE MATERIALIZED VIEW bench_summary AS SELECT count(*) AS n FROM pg_class;"
                + " CREATE UNLOGGED TABLE sessions_cache (k text PRIMARY KEY, v text);"
                + " INSERT INTO sessions_cache SELECT 'session ' || g, md5(g::text) FROM generate_series(1, 10000) g");
        blue.docker("sh", "-c", "pg_conftool 13 main set max_logical_replication_workers 16 && pg_conftool 13 main set max_worker_processes 24 "
                + "&& pg_ctlcluster 13 main restart");
    }

    /** A switch (to green) or a rollback: the writer's longest gap and the run's own blocked-to-opened, in ms. */
    static long[] timed(Inventory inv, Map<String, Object> vars, Writer writer, boolean toGreen) throws Exception {
        Thread.sleep(1000);
        long from = System.nanoTime();
        List<Play> plays = toGreen ? new BlueGreenSwitch().plays(inv, vars) : new BlueGreenRollback().plays(inv, vars);
        TaskTimer opened = new TaskTimer(name -> name.startsWith("open writes on"));
        SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, plays, vars, opened), toGreen ? "bluegreen-switch" : "bluegreen-rollback");
        Thread.sleep(1000);
        long gap = writer.longestGapMillisSince(from);
        String message = opened.message() == null ? "" : opened.message();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("refused for (\\d+) ms").matcher(message);
        long run = m.find() ? Long.parseLong(m.group(1)) : -1;
        System.out.printf("%s: writer's longest gap %d ms; blocked to opened %d ms (%s)%n", toGreen ? "switch" : "rollback", gap, run, message);
        return new long[] {gap, run};
    }
}
