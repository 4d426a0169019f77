package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A blue-green upgrade from 13 (db1 primary, db2 standby) to 15 on db3: the refusals, the
 * prepare, the switch while a writer inserts through the VIP and a sequence-backed table takes
 * inserts, more writes on green, the rollback, a lagging green refused, the switch again, the
 * cleanup. Each time: every acknowledged commit on both sides, sequences never hand out a value
 * twice, never two writable sides.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BlueGreenIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2", "db3", "app1");
    static PgLab pg;
    static LabHost blue;
    static LabHost green;
    static Writer writer;
    static OrderWriter orders;
    static WritableMonitor monitor;

    @BeforeAll
    static void cluster() throws Exception {
        pg = PgLab.onMajor13(LAB.lab(), "groups { green { hosts = [db3] }, clients { hosts = [app1] } }\n"
                + "vars { switch = [vip, hosts-alias], hosts-alias = db.lab }\n");
        blue = pg.host("db1");
        green = pg.host("db3");
        // clients that find the database by name (the site's /etc/hosts before the upgrade)
        pg.host("app1").docker("sh", "-c", "echo '" + blue.address() + " db.lab' >> /etc/hosts");
        PgLab.sql(blue, "shop", "GRANT INSERT, SELECT ON sales.orders TO app; GRANT USAGE ON SEQUENCE sales.orders_id_seq TO app;"
                + " CREATE TABLE public.nokey (x int)");
        PgLab.sql(blue, "app", "DELETE FROM writes");
        // a site's shape: more databases than green's default 4 workers (6 with postgres, shop and app), one with an odd name,
        // a materialized view, an unlogged table with rows
        PgLab.sql(blue, "postgres", "CREATE DATABASE reports OWNER app");
        PgLab.sql(blue, "postgres", "CREATE DATABASE crm");
        PgLab.sql(blue, "postgres", "CREATE DATABASE " + dev.pgplay.postgres.Psql.ident(ODD));
        for (String db : List.of("reports", "crm", ODD)) {
            sql(blue, db, "CREATE TABLE public.notes (id bigserial PRIMARY KEY, body text NOT NULL);"
                    + " INSERT INTO public.notes (body) SELECT 'note ' || g FROM generate_series(1, 500) g");
        }
        PgLab.sql(blue, "shop", "CREATE MATERIALIZED VIEW sales.daily AS SELECT customer, count(*) AS n, sum(amount) AS total FROM sales.orders GROUP BY 1;"
                + " CREATE UNLOGGED TABLE public.sessions_cache (k text PRIMARY KEY, v text);"
                + " INSERT INTO public.sessions_cache SELECT 'session ' || g, md5(g::text) FROM generate_series(1, 200) g");
    }

    /** A database name that needs quoting everywhere. */
    static final String ODD = "crm \"eu\" 2026";

    /** psql as postgres in a database of any name (passed as a dbname= value, not through a shell). */
    static String sql(LabHost h, String db, String sql) {
        return h.docker("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d",
                dev.pgplay.postgres.Psql.conninfo(db), "-c", sql).strip();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        for (AutoCloseable c : new AutoCloseable[] {writer, orders, monitor}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // stopping
                }
            }
        }
    }

    @Test
    @Order(1)
    void refusedBeforeAnythingChanges() {
        PgLab.Run r = pg.playbook("bluegreen-prepare", "-e", "new-version=15");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("wal_level is replica"), r.out());
        assertTrue(r.out().contains("table(s) without a replica identity (public.nokey)"), r.out());
        assertTrue(r.out().contains("large object(s), which logical replication does not carry"), r.out());
        assertTrue(r.out().contains("unlogged table(s), which logical replication does not carry: public.sessions_cache; -e unlogged-tables=empty"), r.out());
        assertTrue(r.out().contains("max_logical_replication_workers is 4, the way back needs 6"), r.out());
        assertTrue(r.out().contains("nothing was changed"), r.out());
        assertEquals("0", PgLab.sql(green, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'shop'"));
        assertEquals("", blue.docker("sh", "-c", "ls /var/lib/pgplay/bluegreen-main.status 2>/dev/null || true").strip());
        // what the user does about it: the setting (a restart in a window), a key
        PgLab.sql(blue, "postgres", "ALTER SYSTEM SET wal_level = logical");
        PgLab.sql(blue, "postgres", "ALTER SYSTEM SET max_logical_replication_workers = 8");
        blue.docker("pg_ctlcluster", "13", "main", "restart");
        PgLab.sql(blue, "shop", "ALTER TABLE public.nokey ADD PRIMARY KEY (x)");
    }

    @Test
    @Order(2)
    void prepareBuildsGreenAndGuardsDdl() throws InterruptedException {
        PgLab.Run r = pg.playbook("bluegreen-prepare", "-e", "new-version=15", "-e", "copy-large-objects=true", "-e", "unlogged-tables=empty");
        assertEquals(0, r.code(), r.out());
        assertEquals("15", PgLab.serverMajor(green));
        // six databases: an apply worker each and table copies beside them (PostgreSQL's 4 would copy nothing, for ever)
        assertEquals("9", PgLab.sql(green, "postgres", "SHOW max_logical_replication_workers"), r.out());
        for (String db : List.of("reports", "crm", ODD)) {
            assertEquals("500", sql(green, db, "SELECT count(*) FROM public.notes"), db);
        }
        assertEquals(PgLab.sql(blue, "shop", "SELECT count(*) FROM sales.daily"), PgLab.sql(green, "shop", "SELECT count(*) FROM sales.daily"),
                "the materialized view is populated on green");
        assertEquals("0", PgLab.sql(green, "shop", "SELECT count(*) FROM public.sessions_cache"), "left empty, as chosen");
        assertTrue(r.out().contains("unlogged table(s) left empty on the new side by choice"), r.out());
        assertEquals("refreshed", PgLab.sql(blue, "shop", "REFRESH MATERIALIZED VIEW sales.daily; SELECT 'refreshed'"),
                "the DDL guard lets a site's refresh through");
        assertEquals(PgLab.sql(blue, "shop", "SELECT count(*) FROM sales.orders"), PgLab.sql(green, "shop", "SELECT count(*) FROM sales.orders"));
        assertEquals("on", PgLab.sql(green, "postgres", "SHOW default_transaction_read_only"), "green is read-only until the switch");
        String ddl = blue.dockerResult("su", "postgres", "-c", "psql -X -d shop -c 'CREATE TABLE sneaky (id int)'").getStderr();
        assertTrue(ddl.contains("pgplay: CREATE TABLE refused"), ddl);
        PgLab.sql(blue, "shop", "INSERT INTO stock.items VALUES ('after-prepare', 1, NULL)");
        waitFor("a row written on blue after the prepare reaches green",
                () -> PgLab.sql(green, "shop", "SELECT count(*) FROM stock.items WHERE sku = 'after-prepare'").equals("1"));
        // the choices of the first prepare hold without being given again
        PgLab.Run again = pg.playbook("bluegreen-prepare", "-e", "new-version=15");
        assertEquals(0, again.code(), again.out());
        assertTrue(again.out().contains("copied earlier"), again.out());
        PgLab.Run check = pg.playbook("bluegreen-switch", "-e", "new-version=15", "--check");
        assertEquals(0, check.code(), check.out());
        assertTrue(check.out().contains("would block writes on blue (db1)"), check.out());
        assertTrue(check.out().contains("after the switch (writes on green, blue follows):  bluegreen-rollback switches writes back"), check.out());
        assertEquals("off", PgLab.sql(blue, "postgres", "SHOW default_transaction_read_only"), "check mode blocks nothing");
        assertEquals("on", PgLab.sql(green, "postgres", "SHOW default_transaction_read_only"));
    }

    @Test
    @Order(3)
    void switchLosesNothingWhileWritesGoOn() throws Exception {
        writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        orders = new OrderWriter(pg.jdbc(pg.vip, "shop")).start();
        monitor = new WritableMonitor(pg.jdbc(blue.address(), "app"), pg.jdbc(green.address(), "app"), WritableMonitor.ACCEPTS_WRITES).start();
        waitFor("the writers commit through the VIP", () -> writer.acknowledged().size() > 20 && orders.acknowledged().size() > 10);
        PgLab.sql(blue, "postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE late LOGIN PASSWORD 'late-pw'");
        PgLab.sql(blue, "shop", "INSERT INTO public.sessions_cache VALUES ('written after the prepare', 'x')");
        // large objects and unlogged tables as chosen at prepare, not repeated here
        PgLab.Run r = pg.playbook("bluegreen-switch", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("items identical"), r.out());
        assertTrue(r.out().contains("compared before the opening (writes blocked): every slot's LSN proof"), r.out());
        assertTrue(r.out().contains("compared after the opening, as of the switch"), r.out());
        assertTrue(r.out().contains("unlogged table(s) left out by choice"), r.out());
        assertTrue(r.out().contains("materialized view(s) refreshed on green before writes were blocked"), r.out());
        assertTrue(Integer.parseInt(PgLab.sql(green, "shop", "SELECT count(*) FROM sales.daily")) > 5000,
                "the materialized view answers on green right after the switch, with the orders written before it");
        assertTrue(r.out().contains("writes were refused for"), r.out());
        assertWritesOn(green, blue, "after the switch");
        assertEquals("1", PgLab.sql(green, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'late' AND rolcanlogin"),
                "a role made on blue after the prepare is on green");
        assertEquals(PgLab.sql(blue, "shop", "SELECT count(*) FROM pg_largeobject_metadata"),
                PgLab.sql(green, "shop", "SELECT count(*) FROM pg_largeobject_metadata"), "large objects copied");
        int before = writer.acknowledged().size();
        waitFor("more writes on green", () -> writer.acknowledged().size() > before + 50 && orders.acknowledged().size() > 20);
        long last = writer.acknowledged().get(writer.acknowledged().size() - 1);
        waitFor("green's writes reach blue", () -> PgLab.sql(blue, "app", "SELECT count(*) FROM writes WHERE id = " + last).equals("1"));
    }

    @Test
    @Order(4)
    void rollbackBringsGreensWritesBack() throws Exception {
        PgLab.Run r = pg.playbook("bluegreen-rollback", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertWritesOn(blue, green, "after the rollback");
        int before = writer.acknowledged().size();
        waitFor("writes on blue again", () -> writer.acknowledged().size() > before + 50);
    }

    @Test
    @Order(5)
    void aLaggingGreenIsRefusedAndBlueKeepsWrites() throws Exception {
        // green's connections to blue's port are dropped on green's side (blue still reaches green, as the way back needs):
        // green lags while blue takes writes. (A lock held on green does not do: the switch makes its slots before the window,
        // which waits for green's open transactions to end.)
        List<String> cut = List.of("to", blue.address() + "/32", "ipproto", "tcp", "dport", "5432", "blackhole");
        green.docker(java.util.stream.Stream.concat(java.util.stream.Stream.of("ip", "rule", "add"), cut.stream()).toArray(String[]::new));
        int acked = writer.acknowledged().size();
        waitFor("blue takes writes green does not get", () -> writer.acknowledged().size() > acked + 20);
        PgLab.Run r = pg.playbook("bluegreen-switch", "-e", "new-version=15", "-e", "catch-up-timeout=2");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("is behind blue"), r.out());
        assertTrue(r.out().contains("writes are back on blue"), r.out());
        assertEquals("off", PgLab.sql(blue, "postgres", "SHOW default_transaction_read_only"));
        assertTrue(PgLab.holdsVip(blue, pg.vip));
        int before = writer.acknowledged().size();
        waitFor("writes on blue go on", () -> writer.acknowledged().size() > before + 20);
        green.docker(java.util.stream.Stream.concat(java.util.stream.Stream.of("ip", "rule", "del"), cut.stream()).toArray(String[]::new));
        assertWritesOn(blue, green, "after a refused switch");
        // a subscription someone disabled: refused before anything is blocked
        subscription(green, "DISABLE");
        try {
            PgLab.Run d = pg.playbook("bluegreen-switch", "-e", "new-version=15");
            assertEquals(2, d.code(), d.out());
            assertTrue(d.out().contains("disabled subscription(s) to blue"), d.out());
            assertEquals("off", PgLab.sql(blue, "postgres", "SHOW default_transaction_read_only"));
        } finally {
            subscription(green, "ENABLE");
        }
    }

    /** Starts a playbook in its own JVM and SIGKILLs it {@code delayMillis} after {@code task} started. */
    static void killAt(String task, long delayMillis, String playbook) throws Exception {
        try (Controller c = Controller.start(LAB.lab().dir().resolve("bluegreen-kills"), playbook, pg.inventory, "-e", "new-version=15")) {
            assertTrue(c.awaitTaskStart(task, 120_000), "the run never reached " + task + ":\n" + c.output());
            Thread.sleep(delayMillis);
            c.kill();
            System.out.println("---- killed " + delayMillis + " ms after '" + task + "' started:\n" + c.output());
        }
    }

    @Test
    @Order(6)
    void aControllerLostMidSwitchIsFinishedOrUndoneByARun() throws Exception {
        // cut right after the block: the rollback reopens blue
        killAt("green (db3) has applied everything", 0, "bluegreen-switch");
        PgLab.Run back = pg.playbook("bluegreen-rollback", "-e", "new-version=15");
        assertEquals(0, back.code(), back.out());
        assertWritesOn(blue, green, "a switch cut after the block, then rolled back");
        // cut while green stops following and blue starts to: a plain re-run finishes the switch
        killAt("blue follows green before green takes a write", 30, "bluegreen-switch");
        PgLab.Run again = pg.playbook("bluegreen-switch", "-e", "new-version=15");
        assertEquals(0, again.code(), again.out());
        assertWritesOn(green, blue, "a switch cut in the reverse step, then run again");
        // cut while the VIP moves back: the rollback run again ends on blue
        killAt("VIP to blue", 0, "bluegreen-rollback");
        PgLab.Run rollback = pg.playbook("bluegreen-rollback", "-e", "new-version=15");
        assertEquals(0, rollback.code(), rollback.out());
        assertWritesOn(blue, green, "a rollback cut while the VIP moved, then run again");
    }

    @Test
    @Order(7)
    void switchAgainThenCleanup() throws Exception {
        PgLab.Run r = pg.playbook("bluegreen-switch", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertWritesOn(green, blue, "after the second switch");
        writer.close();
        orders.close();
        monitor.close();
        assertEquals(0, monitor.bothWritable(), "two writable sides seen " + monitor.bothWritable() + " times");
        assertTrue(monitor.rounds() > 50, "the monitor ran");
        PgLab.Run c = pg.playbook("bluegreen-cleanup", "-e", "new-version=15");
        assertEquals(0, c.code(), c.out());
        for (LabHost h : List.of(blue, green)) {
            assertEquals("0", PgLab.sql(h, "postgres", "SELECT count(*) FROM pg_subscription"), h.name());
            assertEquals("0", PgLab.sql(h, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'"), h.name());
            assertEquals("0", PgLab.sql(h, "shop", "SELECT count(*) FROM pg_publication"), h.name());
            assertEquals("0", PgLab.sql(h, "shop", "SELECT count(*) FROM pg_event_trigger"), h.name());
        }
        PgLab.sql(green, "shop", "CREATE TABLE after_cleanup (id int PRIMARY KEY)");
        assertEquals("on", PgLab.sql(blue, "postgres", "SHOW default_transaction_read_only"), "blue stays a read-only fallback");
        PgLab.Run back = pg.playbook("bluegreen-rollback", "-e", "new-version=15");
        assertEquals(2, back.code(), back.out());
    }

    /** ALTER SUBSCRIPTION on a side that is read-only for everyone but pgplay (and this test). */
    static void subscription(LabHost h, String what) {
        h.docker("su", "postgres", "-c", "PGOPTIONS='-c default_transaction_read_only=off -c pgplay.allow_ddl=on' psql -X -q -d app -c \"ALTER SUBSCRIPTION pgplay_bluegreen $0\"", what);
    }

    /** Writes on {@code writable} only, the VIP there, every acknowledged commit on both, no sequence value twice. */
    static void assertWritesOn(LabHost writable, LabHost follower, String context) throws InterruptedException {
        assertEquals("off", PgLab.sql(writable, "postgres", "SHOW default_transaction_read_only"), context);
        assertEquals("on", PgLab.sql(follower, "postgres", "SHOW default_transaction_read_only"), context);
        assertTrue(PgLab.holdsVip(writable, pg.vip) && !PgLab.holdsVip(follower, pg.vip), context + ": the VIP");
        assertEquals(writable.address(), pg.host("app1").docker("sh", "-c", "getent hosts db.lab | cut -d' ' -f1").strip(), context + ": db.lab");
        assertEquals(0, monitor.bothWritable(), context + ": two writable sides");
        // one list of acknowledged writes for every check: the writer goes on, and the follower may lag behind what it
        // acknowledges after this list was taken
        List<Long> written = writer.acknowledged();
        RollingMinorIT.assertAllPresent(written, writable);
        List<Long> ids = orders.acknowledged();
        assertEquals(ids.size(), new HashSet<>(ids).size(), context + ": a sequence value handed out twice");
        long last = written.get(written.size() - 1);
        for (LabHost h : List.of(writable, follower)) {
            waitFor(context + ": " + h.name() + " has the last acknowledged write",
                    () -> PgLab.sql(h, "app", "SELECT count(*) FROM writes WHERE id >= " + last).compareTo("1") >= 0);
        }
        RollingMinorIT.assertAllPresent(written, follower);
        List<Long> acked = orders.acknowledged();
        Set<String> present = new HashSet<>(List.of(PgLab.sql(writable, "shop", "SELECT string_agg(id::text, ',') FROM sales.orders WHERE id > 5000").split(",")));
        for (long id : acked) {
            assertTrue(present.contains(String.valueOf(id)), context + ": order " + id + " acknowledged but missing");
        }
    }

    static void waitFor(String what, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after 60 s waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    /** Inserts orders through the VIP (ids from the table's sequence) and keeps each acknowledged id. Bounded to 10 minutes. */
    static final class OrderWriter implements AutoCloseable {
        private final String url;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Long> acked = new ArrayList<>();
        private final Thread thread = new Thread(this::loop, "orders");

        OrderWriter(String url) {
            this.url = url;
            thread.setDaemon(true);
        }

        OrderWriter start() {
            thread.start();
            return this;
        }

        private void loop() {
            long deadline = System.nanoTime() + 600_000_000_000L;
            Connection c = null;
            while (!stop.get() && System.nanoTime() < deadline) {
                try {
                    if (c == null) {
                        c = DriverManager.getConnection(url, "app", "app-pw");
                    }
                    try (Statement st = c.createStatement();
                         ResultSet rs = st.executeQuery("INSERT INTO sales.orders (customer) VALUES ('bluegreen') RETURNING id")) {
                        rs.next();
                        long id = rs.getLong(1);
                        synchronized (this) {
                            acked.add(id);
                        }
                    }
                    Thread.sleep(20);
                } catch (SQLException e) {
                    try {
                        if (c != null) {
                            c.close();
                        }
                    } catch (SQLException ignored) {
                        // gone
                    }
                    c = null;
                    sleep();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private static void sleep() {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized List<Long> acknowledged() {
            return new ArrayList<>(acked);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
        }
    }
}
