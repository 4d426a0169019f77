package dev.pgplay.bench;

import dev.pgplay.core.run.Playbook;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import dev.pgplay.playbooks.MajorDump;
import dev.pgplay.playbooks.MajorRollback;
import dev.pgplay.playbooks.MajorUpgrade;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/bench upgrade}: a PostgreSQL 13 server with SIZES MB of data (8 tables, so that
 * parallel jobs have work to share) upgraded to 15 by each method in one run, going back to 13
 * with major-rollback between them: downtime (no server on the port), writes refused as the run
 * measured them (blocked until the new cluster is verified and opened) and as an independent
 * writer through the VIP saw them (its longest gap between two acknowledged commits, every one
 * of them checked on the new cluster), the verification's depth and time, and the time of the
 * data move itself; parallel dump/restore against the single pg_dumpall | psql stream.
 * {@code -Dverify=full} compares every row in the window, as before.
 */
public final class UpgradeBenchmark {
    private UpgradeBenchmark() {
    }

    record Figures(String method, long downtime, long refused, long gap, long move, long lost, String verified) {
    }

    public static void main(String[] args) throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String s : System.getProperty("sizes", "1024,4096").split(",")) {
            sizes.add(Integer.parseInt(s.trim()));
        }
        String methods = System.getProperty("methods", "dump,pipe,copy,link");
        Map<Integer, List<Figures>> all = new LinkedHashMap<>();
        for (int mb : sizes) {
            try (Lab lab = Lab.builder().hosts("db1").start()) {
                LabHost db = lab.host("db1");
                Path pw = lab.dir().resolve("replication-password");
                Files.writeString(pw, "bench-" + System.nanoTime() + "\n");
                String vip = lab.freeVip();
                Inventory inv = Inventory.load(lab.writeInventory("pg.conf", """
                        roles { primary = db1, vip { address = "%s", prefix = 24, interface = eth0, owner = db1 } }
                        vars { pg-version = "13", replication-password-file = "%s" }
                        """.formatted(vip, pw)));
                db.docker("sh", "-c", "pg_dropcluster --stop 15 main && pg_conftool 13 main set port 5432 && pg_conftool 13 main set listen_addresses '*' "
                        + "&& echo 'host all app all scram-sha-256' >> /etc/postgresql/13/main/pg_hba.conf "
                        + "&& echo auto > /etc/postgresql/13/main/start.conf && pg_ctlcluster 13 main start");
                SwitchoverBenchmark.sql(db, "postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE app LOGIN PASSWORD 'app-pw'");
                SwitchoverBenchmark.sql(db, "postgres", "CREATE DATABASE app OWNER app");
                SwitchoverBenchmark.sql(db, "app", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());"
                        + " ALTER TABLE writes OWNER TO app");
                SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, List.of(dev.pgplay.core.run.Play.of("VIP", "db1")
                        .task(dev.pgplay.core.run.Task.of("VIP on db1", dev.pgplay.core.modules.VirtualIp.present(inv.roles().vip().get())))),
                        Map.of(), null), "VIP on db1");
                String url = "jdbc:postgresql://" + vip + ":5432/app?connectTimeout=1&socketTimeout=2&loginTimeout=2";
                long t0 = System.nanoTime();
                fill(db, mb);
                String size = SwitchoverBenchmark.sql(db, "postgres", "SELECT pg_size_pretty(pg_database_size('bench'))");
                System.out.printf("%n== %d MB asked: database bench is %s (made in %d s) ==%n", mb, size, (System.nanoTime() - t0) / 1_000_000_000L);
                List<Figures> figures = new ArrayList<>();
                for (String method : methods.split(",")) {
                    Map<String, Object> vars = new HashMap<>();
                    vars.put("new-version", "15");
                    if (System.getProperty("verify") != null) {
                        vars.put("verify", System.getProperty("verify"));
                    }
                    Playbook playbook;
                    switch (method) {
                        case "dump" -> {
                            playbook = new MajorDump();
                            vars.put("parallel", "true");
                        }
                        case "pipe" -> {
                            playbook = new MajorDump();
                            vars.put("parallel", "false");
                        }
                        default -> {
                            playbook = new MajorUpgrade();
                            vars.put("method", method);
                        }
                    }
                    TaskTimer timer = new TaskTimer(name -> name.startsWith("copy ") || name.startsWith("pg_upgrade --"));
                    long gap;
                    long lost;
                    try (dev.pgplay.lab.Writer writer = new dev.pgplay.lab.Writer(url, 100_000_000).start()) {
                        Thread.sleep(1000);
                        long from = System.nanoTime();
                        SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, playbook.plays(inv, vars), vars, timer), method + " upgrade");
                        Thread.sleep(1000);
                        writer.close();
                        gap = writer.longestGapMillisSince(from);
                        lost = SwitchoverBenchmark.lost(db, writer.acknowledged());
                    }
                    Map<String, Long> st = status(db);
                    String verified = db.docker("sh", "-c", "grep -h '^verified-in=' /var/lib/pgplay/major-main.status | cut -d= -f2-").strip();
                    Figures f = new Figures(method, st.get("up-at") - st.get("stopped-at"), st.get("opened-at") - st.get("blocked-at"), gap, timer.millis(),
                            lost, verified);
                    figures.add(f);
                    System.out.printf("%-5s downtime %6d ms, writes refused %7d ms (writer's longest gap %7d ms, %d lost), data move %7d ms; verified: %s%n",
                            method, f.downtime(), f.refused(), f.gap(), f.lost(), f.move(), f.verified());
                    if (!method.equals("link")) {
                        Map<String, Object> back = Map.of("accept-data-loss", "true"); // the writer's rows on 15: this is a benchmark
                        SwitchoverBenchmark.check(SwitchoverBenchmark.run(inv, new MajorRollback().plays(inv, back), back, null), "rollback after " + method);
                        SwitchoverBenchmark.sql(db, "app", "TRUNCATE writes");
                    }
                }
                all.put(mb, figures);
            }
        }
        System.out.printf("%n== summary (one run, same lab image) ==%n");
        System.out.printf("%-8s %-6s %12s %16s %14s %12s %5s  %s%n", "size", "method", "downtime ms", "writes refused", "writer's gap", "data move", "lost",
                "verified in the window");
        all.forEach((mb, list) -> list.forEach(f -> System.out.printf("%-8s %-6s %12d %16d %14d %12d %5d  %s%n", mb + " MB", f.method(), f.downtime(),
                f.refused(), f.gap(), f.move(), f.lost(), f.verified())));
        all.forEach((mb, list) -> {
            Figures dump = list.stream().filter(f -> f.method().equals("dump")).findFirst().orElse(null);
            Figures pipe = list.stream().filter(f -> f.method().equals("pipe")).findFirst().orElse(null);
            if (dump != null && pipe != null) {
                System.out.printf("%d MB: parallel dump/restore %d ms vs pg_dumpall | psql %d ms: %.2fx (target >= 1.8x)%n",
                        mb, dump.move(), pipe.move(), (double) pipe.move() / dump.move());
            }
        });
        List<Figures> links = all.values().stream().flatMap(l -> l.stream().filter(f -> f.method().equals("link"))).toList();
        if (links.size() > 1) {
            System.out.printf("link downtime by size: %s (target: flat, under 15 s)%n", links.stream().map(f -> f.downtime() + " ms").toList());
            long most = links.stream().mapToLong(Figures::gap).max().getAsLong();
            long least = links.stream().mapToLong(Figures::gap).min().getAsLong();
            System.out.printf("link writes refused by size (writer's gap): %s, largest/smallest %.2f (target: each < 10 s, within 20%%: <= 1.20)%n",
                    links.stream().map(f -> f.gap() + " ms").toList(), (double) most / least);
        }
    }

    /** Eight tables of about mb/8 each (id, 96 characters of text, a number), primary keys built after the load. */
    static void fill(LabHost db, int mb) {
        long rows = (long) mb * 1024 * 1024 / 165 / 8;
        SwitchoverBenchmark.sql(db, "postgres", "CREATE DATABASE bench");
        for (int t = 1; t <= 8; t++) {
            SwitchoverBenchmark.sql(db, "bench", "CREATE TABLE t" + t + " (id bigint, payload text, n int); "
                    + "INSERT INTO t" + t + " SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text), g % 1000 "
                    + "FROM generate_series(1, " + rows + ") g; ALTER TABLE t" + t + " ADD PRIMARY KEY (id)");
        }
        SwitchoverBenchmark.sql(db, "bench", "VACUUM ANALYZE");
    }

    static Map<String, Long> status(LabHost db) {
        Map<String, Long> out = new HashMap<>();
        for (String line : db.docker("cat", "/var/lib/pgplay/major-main.status").split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.substring(0, eq).endsWith("-at")) {
                out.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1).trim()));
            }
        }
        return out;
    }
}
