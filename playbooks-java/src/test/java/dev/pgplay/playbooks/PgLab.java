package dev.pgplay.playbooks;

import dev.pgplay.cli.Main;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.output.ConsoleListener;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** A lab primary/standby pair built by the cluster-setup playbook, with an application role and table. */
final class PgLab {
    final Lab lab;
    final Path inventory;
    final String vip;

    PgLab(Lab lab, String extraInventory) throws Exception {
        this.lab = lab;
        this.vip = lab.freeVip();
        Path pw = lab.dir().resolve("replication-password");
        Files.writeString(pw, "rep-" + System.nanoTime() + ":x'\\y\n");
        String subnet = lab.network().subnet();
        this.inventory = lab.writeInventory("pg.conf", """
                roles {
                  primary = db1
                  standby = [db2]
                  vip { address = "%s", prefix = 24, interface = eth0, owner = db1 }
                }
                vars {
                  replication-password-file = "%s"
                  client-networks = ["%s"]
                }
                %s
                """.formatted(vip, pw, subnet, extraInventory == null ? "" : extraInventory));
    }

    record Run(int code, String out) {
    }

    /** A run in this JVM: its result and console output. */
    record InProcess(RunResult result, String out) {
        int code() {
            return result.exitCode();
        }
    }

    /**
     * Runs a playbook in this JVM with an extra listener (fault injection, timing), printing the
     * console output; {@code self}, when given, receives the runner (to cancel it).
     */
    InProcess runInProcess(Playbook playbook, Map<String, Object> vars, RunListener extra, AtomicReference<Runner> self) {
        Inventory inv = Inventory.load(inventory);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Play> plays = playbook.plays(inv, vars);
        Runner runner = Runner.builder(inv).extraVars(vars)
                .listener(new ConsoleListener(new PrintStream(out, true, StandardCharsets.UTF_8), 0, false))
                .listener(extra).build();
        if (self != null) {
            self.set(runner);
        }
        RunResult r = runner.run(playbook.name(), plays);
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        return new InProcess(r, text);
    }

    /** A lab pair on PostgreSQL 13 (see {@link #runMajor13}) built by cluster-setup, with the upgrade test data. */
    static PgLab onMajor13(Lab lab) throws Exception {
        return onMajor13(lab, "");
    }

    /** {@link #onMajor13(Lab)} with more inventory text. */
    static PgLab onMajor13(Lab lab, String extraInventory) throws Exception {
        PgLab pg = new PgLab(lab, "vars { pg-version = \"13\" }\n" + extraInventory);
        pg.runMajor13(List.of(pg.host("db1"), pg.host("db2")));
        pg.setUpCluster();
        pg.fillForUpgrade();
        return pg;
    }

    Run playbook(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String[] all = new String[args.length + 3];
        all[0] = args[0];
        all[1] = inventory.toString();
        System.arraycopy(args, 1, all, 2, args.length - 1);
        all[all.length - 2] = "--log-dir";
        all[all.length - 1] = lab.dir().resolve("logs").toString();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int code = Main.run(all, ps, ps);
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        return new Run(code, text);
    }

    /** cluster-setup, then an application role and table on the primary. */
    void setUpCluster() {
        Run r = playbook("cluster-setup");
        assertEquals(0, r.code(), r.out());
        // SCRAM on 13 too (its default is md5), as pg_hba asks for it
        sql(host("db1"), "postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE app LOGIN PASSWORD 'app-pw'");
        sql(host("db1"), "postgres", "CREATE DATABASE app OWNER app");
        sql(host("db1"), "app", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp()); ALTER TABLE writes OWNER TO app;");
    }

    /**
     * Makes these lab hosts (db1 and db2; a third keeps the image's 15 on 5432) look like a server about to get a major upgrade: PostgreSQL 13 serves
     * on 5432 and starts at boot; the empty 15/main that installing postgresql-15 makes sits on
     * 5433 (with data checksums, unlike the 13 cluster).
     */
    void runMajor13(List<LabHost> hosts) {
        for (LabHost h : hosts) {
            h.docker("sh", "-c", "pg_dropcluster --stop 15 main && pg_conftool 13 main set port 5432 "
                    + "&& echo auto > /etc/postgresql/13/main/start.conf && pg_ctlcluster 13 main start "
                    + "&& pg_createcluster 15 main --start -- --data-checksums >/dev/null");
        }
    }

    /**
     * Data a major upgrade must carry: roles with a membership and grants, a database with two
     * schemas, an extension (hstore), a sequence, a large object, plus the app database.
     */
    void fillForUpgrade() {
        LabHost db1 = host("db1");
        sql(db1, "postgres", "CREATE ROLE reader NOLOGIN; CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE reader");
        sql(db1, "postgres", "CREATE DATABASE shop OWNER app");
        sql(db1, "shop", """
                CREATE EXTENSION hstore;
                CREATE SCHEMA sales AUTHORIZATION app;
                CREATE SCHEMA stock;
                CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer text NOT NULL, attrs hstore, amount numeric(10,2),
                  at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
                INSERT INTO sales.orders (customer, attrs, amount) SELECT 'customer ' || g, hstore('size', (g % 7)::text), g * 1.25
                  FROM generate_series(1, 5000) g;
                CREATE TABLE stock.items (sku text PRIMARY KEY, qty int NOT NULL, doc jsonb);
                INSERT INTO stock.items SELECT 'sku-' || g, g % 100, jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g % 3))
                  FROM generate_series(1, 2000) g;
                CREATE SEQUENCE stock.batch_seq START 40;
                SELECT nextval('stock.batch_seq'), nextval('stock.batch_seq');
                GRANT USAGE ON SCHEMA sales TO reader;
                GRANT SELECT ON sales.orders TO reader;
                SELECT lo_from_bytea(0, convert_to('a large object, carried by the upgrade', 'UTF8'));
                """);
        sql(db1, "app", "INSERT INTO writes (id) SELECT g FROM generate_series(1, 300) g");
    }

    /** {@link dev.pgplay.lab.LabPgBouncer#start}. */
    static void pgbouncer(LabHost host, LabHost primary) {
        dev.pgplay.lab.LabPgBouncer.start(host, primary.address());
    }

    /** {@link dev.pgplay.lab.LabPgBouncer#app}. */
    static String pgbouncerApp(LabHost host) {
        return dev.pgplay.lab.LabPgBouncer.app(host);
    }

    /** One line that changes whenever a row of the test data changes (for before/after checks from outside). */
    static String fingerprint(LabHost h) {
        return sql(h, "shop", "SELECT (SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM sales.orders o) || ' ' "
                + "|| (SELECT count(*) FROM stock.items) || ' ' || (SELECT last_value FROM stock.batch_seq) || ' ' "
                + "|| (SELECT count(*) FROM pg_largeobject_metadata)") + " " + sql(h, "app", "SELECT count(*) FROM writes");
    }

    static String serverMajor(LabHost h) {
        return sql(h, "postgres", "SELECT current_setting('server_version_num')::int / 10000");
    }

    static String receiver(LabHost h) {
        return sql(h, "postgres", "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver");
    }

    static String status(LabHost h) {
        return h.docker("cat", "/var/lib/pgplay/major-main.status");
    }

    LabHost host(String name) {
        return lab.host(name);
    }

    /** psql as postgres inside the container (test set-up and checks from the outside, not the code under test). */
    static String sql(LabHost host, String db, String sql) {
        return host.docker("su", "postgres", "-c", "psql -X -q -t -A -v ON_ERROR_STOP=1 -d " + db + " -c \"$0\"", sql).strip();
    }

    static String version(LabHost host) {
        return host.docker("dpkg-query", "-W", "-f", "${Version}", "postgresql-15");
    }

    /**
     * After a fault and a re-run: one primary holding the VIP, one standby streaming from it, both on
     * {@code target}, every acknowledged commit on both, never two writable nodes. Returns the primary.
     */
    LabHost assertHealthyPair(Writer writer, WritableMonitor monitor, String target, String context) throws InterruptedException {
        LabHost db1 = host("db1");
        LabHost db2 = host("db2");
        assertEquals(0, monitor.bothWritable(), context + ": two writable nodes seen " + monitor.bothWritable() + " times");
        assertTrue(monitor.rounds() > 10, context + ": the monitor ran");
        LabHost p = inRecovery(db1) ? db2 : db1;
        LabHost s = p == db1 ? db2 : db1;
        assertTrue(inRecovery(s), context + ": exactly one primary");
        assertTrue(holdsVip(p, vip) && !holdsVip(s, vip), context + ": the VIP is on the primary only");
        assertEquals("streaming " + p.address(), receiver(s), context + ": the standby streams from the primary");
        assertEquals(target, version(db1), context);
        assertEquals(target, version(db2), context);
        assertTrue(writer.acknowledged().size() > 10, context + ": the writer committed through the VIP");
        RollingMinorIT.assertAllPresent(writer.acknowledged(), p);
        RollingMinorIT.waitCaughtUp(p, s);
        RollingMinorIT.assertAllPresent(writer.acknowledged(), s);
        return p;
    }

    /** Puts a host back on PostgreSQL 15.18 (the image keeps those packages in /srv/lab-old); its cluster restarts on them. */
    static void downgrade(LabHost host) {
        host.docker("sh", "-c", "DEBIAN_FRONTEND=noninteractive dpkg -i /srv/lab-old/*.deb >/tmp/downgrade.log 2>&1 || { cat /tmp/downgrade.log >&2; exit 1; }");
        host.docker("pg_ctlcluster", "15", "main", "restart");
    }

    static boolean inRecovery(LabHost host) {
        return "t".equals(sql(host, "postgres", "SELECT pg_is_in_recovery()"));
    }

    static boolean holdsVip(LabHost host, String vip) {
        return host.docker("ip", "-o", "-4", "addr", "show").contains(" " + vip + "/");
    }

    String jdbc(String address, String db) {
        return "jdbc:postgresql://" + address + ":5432/" + db + "?connectTimeout=1&socketTimeout=2&loginTimeout=2";
    }
}
