package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * major-upgrade on a real primary/standby pair running PostgreSQL 13: pg_upgrade --copy to 15,
 * verified table by table, the standby rebuilt and streaming on 15; a second run changes nothing;
 * major-rollback returns both nodes to 13 with the data unchanged; then --link, after which the
 * way back is refused; major-cleanup deletes the old clusters.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MajorUpgradeIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;
    static String before;

    @BeforeAll
    static void cluster() throws Exception {
        pg = PgLab.onMajor13(LAB.lab());
        before = PgLab.fingerprint(pg.host("db1"));
    }

    @Test
    @Order(0)
    void checkModeChangesNothing() {
        LabHost db1 = pg.host("db1");
        String clusters = db1.docker("pg_lsclusters", "--no-header");
        PgLab.Run r = pg.playbook("major-upgrade", "--check", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("would create 15/main") || r.out().contains("would drop and make 15/main again"), r.out());
        assertEquals(clusters, db1.docker("pg_lsclusters", "--no-header"));
        assertEquals("", db1.docker("sh", "-c", "ls /var/lib/pgplay/major-main.status 2>/dev/null || true").strip());
    }

    @Test
    @Order(1)
    void copyUpgradeIsVerifiedAndTheStandbyStreamsOn15() {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        PgLab.Run r = pg.playbook("major-upgrade", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("pg_upgrade --check (old cluster running)"), r.out());
        assertTrue(r.out().contains("Clusters are compatible"), r.out());
        assertTrue(r.out().contains("not a parameter of 15, commented out: stats_temp_directory"), r.out());
        assertTrue(r.out().contains("items identical"), r.out());
        assertTrue(r.out().matches("(?s).*shop: sample sales\\.orders\\s+5000 rows, checksum \\w+\\s+5000 rows, checksum \\w+\\s+same.*"), r.out());
        assertTrue(r.out().matches("(?s).*shop: columns sales\\.orders\\s+id bigint not null, customer text not null.*same.*"), r.out());
        assertTrue(r.out().matches("(?s).*shop: file sales\\.orders\\s+(\\d+) toast (\\d+)\\s+\\1 toast \\2\\s+same.*"), r.out());
        assertTrue(r.out().matches("(?s).*verification while writes were blocked: \\d+ items identical \\(table above; catalog, file numbers and a sample "
                + "of rows, \\d+ relations' files as long as the old ones, \\d+ ms\\).*"), r.out());
        assertTrue(r.out().matches("(?s).*audit after opening: \\d+ tables, \\d+ rows read in full in \\d+ ms with writes open.*"), r.out());
        assertTrue(r.out().matches("(?s).*shop: extension hstore\\s+1\\.7\\s+1\\.7\\s+same.*"), r.out());
        assertTrue(r.out().contains("downtime (no server on port 5432)"), r.out());
        assertEquals("15", PgLab.serverMajor(db1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW data_checksums"), "the new cluster is made like the old one");
        assertEquals(before, PgLab.fingerprint(db1));
        assertTrue(PgLab.status(db1).contains("state=upgraded"));
        assertEquals("15", PgLab.serverMajor(db2));
        assertTrue(PgLab.inRecovery(db2));
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2));
        PgLab.sql(db1, "app", "INSERT INTO writes (id) VALUES (100001)");
        PgLab.sql(db1, "postgres", "SELECT pg_switch_wal()");
        waitFor(() -> PgLab.sql(db2, "app", "SELECT count(*) FROM writes WHERE id = 100001").equals("1"));
        PgLab.sql(db1, "app", "DELETE FROM writes WHERE id = 100001");
        assertTrue(db1.docker("pg_lsclusters", "--no-header").matches("(?s).*13\\s+main\\s+5433\\s+down.*"), "old kept on the side port, down");
        assertEquals("manual", db1.docker("cat", "/etc/postgresql/13/main/start.conf").strip());
    }

    @Test
    @Order(2)
    void aSecondRunChangesNothing() {
        PgLab.Run r = pg.playbook("major-upgrade", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("already upgraded to 15"), r.out());
        assertFalse(r.out().contains("changed:"), r.out());
    }

    @Test
    @Order(3)
    void rollbackDecidesByWalWhetherTheNewClusterTookWrites() {
        LabHost db1 = pg.host("db1");
        PgLab.sql(db1, "app", "CREATE TABLE scratch (id int); CREATE SEQUENCE scratch_seq");
        // reads, a checkpoint and ANALYZE leave WAL too, but they write nothing that going back would lose
        markWalNow(db1);
        PgLab.sql(db1, "app", "SELECT count(*) FROM writes");
        PgLab.sql(db1, "app", "ANALYZE");
        PgLab.sql(db1, "postgres", "CHECKPOINT");
        PgLab.Run quiet = pg.playbook("major-rollback", "--check");
        assertEquals(0, quiet.code(), quiet.out());
        assertTrue(quiet.out().contains("no writes to 15 since it was opened (its WAL since"), quiet.out());
        for (String write : new String[] {"TRUNCATE scratch", "CREATE TABLE other (id int)", "SELECT nextval('scratch_seq')", "SELECT lo_create(0)"}) {
            markWalNow(db1);
            PgLab.sql(db1, "app", write);
            PgLab.Run r = pg.playbook("major-rollback", "--check");
            assertEquals(2, r.code(), write + ": " + r.out());
            assertTrue(r.out().contains("15 took writes since it was opened (rmgr:"), write + ": " + r.out());
        }
        PgLab.sql(db1, "app", "DROP TABLE scratch, other; DROP SEQUENCE scratch_seq; SELECT lo_unlink(oid) FROM pg_largeobject_metadata");
    }

    /** Test set-up: the status file's WAL mark moved to now, so each kind of write is judged on its own. */
    private static void markWalNow(LabHost db1) {
        String lsn = PgLab.sql(db1, "postgres", "SELECT pg_current_wal_insert_lsn()");
        db1.docker("sed", "-i", "s|^wal-at-open=.*|wal-at-open=" + lsn + "|", "/var/lib/pgplay/major-main.status");
        assertTrue(PgLab.status(db1).contains("wal-at-open=" + lsn));
    }

    @Test
    @Order(4)
    void rollbackIsRefusedAfterWritesThenReturnsBothNodesTo13() {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        PgLab.sql(db1, "app", "INSERT INTO writes (id) VALUES (100002)");
        PgLab.Run refused = pg.playbook("major-rollback");
        assertEquals(2, refused.code(), refused.out());
        assertTrue(refused.out().contains("would lose them") && refused.out().contains("desc: INSERT"), refused.out());
        assertEquals("15", PgLab.serverMajor(db1), "nothing changed by the refused rollback");
        assertEquals("15", PgLab.serverMajor(db2), "nothing changed by the refused rollback");
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2));
        PgLab.sql(db1, "app", "DELETE FROM writes WHERE id = 100002");

        PgLab.Run r = pg.playbook("major-rollback", "-e", "accept-data-loss=true");
        assertEquals(0, r.code(), r.out());
        assertEquals("13", PgLab.serverMajor(db1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(before, PgLab.fingerprint(db1));
        assertEquals("13", PgLab.serverMajor(db2));
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2));
    }

    @Test
    @Order(5)
    void linkUpgradeThenNoWayBackThenCleanup() {
        LabHost db1 = pg.host("db1");
        PgLab.Run r = pg.playbook("major-upgrade", "-e", "new-version=15", "-e", "method=link");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("way back: none (link mode"), r.out());
        assertTrue(r.out().contains("standbys: db2=rsync"), r.out());
        assertTrue(r.out().contains("made by rsync --hard-links from db1"), r.out());
        LabHost db2 = pg.host("db2");
        String file = PgLab.sql(db1, "shop", "SELECT pg_relation_filepath('sales.orders')");
        assertEquals("2", db2.docker("stat", "-c", "%h", "/var/lib/postgresql/15/main/" + file).strip(),
                "the standby's table file is its old one, hard-linked, not a copy");
        assertEquals(before, PgLab.fingerprint(db2), "the standby holds the same data");
        assertTrue(r.out().matches("(?s).*verification while writes were blocked: \\d+ items identical \\(table above; catalog and file numbers, "
                + "\\d+ relations' files linked to the old ones.*"), r.out());
        assertFalse(r.out().matches("(?s).*shop: (table|sample) sales\\.orders.*"), "no row is read while writes are blocked: " + r.out());
        assertEquals(before, PgLab.fingerprint(db1));
        assertEquals("streaming " + db1.address(), PgLab.receiver(pg.host("db2")));

        PgLab.Run back = pg.playbook("major-rollback", "-e", "accept-data-loss=true");
        assertEquals(2, back.code(), back.out());
        assertTrue(back.out().contains("no way back"), back.out());

        PgLab.Run clean = pg.playbook("major-cleanup");
        assertEquals(0, clean.code(), clean.out());
        for (String h : new String[] {"db1", "db2"}) {
            String clusters = pg.host(h).docker("pg_lsclusters", "--no-header");
            assertFalse(clusters.contains("13 "), clusters);
        }
        assertEquals(before, PgLab.fingerprint(db1));
    }

    static void waitFor(java.util.function.BooleanSupplier ok) {
        long end = System.nanoTime() + 30_000_000_000L;
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within 30 s");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
