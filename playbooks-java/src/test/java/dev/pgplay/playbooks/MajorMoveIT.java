package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * major-move (seed 002): PostgreSQL 13 on db1 (with its standby db2) moves to 15 on db3 by dump
 * and restore; app1 is a client that finds the database as db.lab in its /etc/hosts and writes
 * through it, a new connection per commit. The name and the VIP lead to db3 afterwards, no
 * acknowledged commit is lost, db1 stays read-only; the way back is refused while db3 has writes
 * of its own, and goes back (name, VIP, writes) when they may be lost, or when there are none.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MajorMoveIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2", "db3", "app1");
    static PgLab pg;
    static String shop;

    @BeforeAll
    static void cluster() throws Exception {
        pg = PgLab.onMajor13(LAB.lab(), "roles { target = db3 }\ngroups { clients { hosts = [app1] } }\n"
                + "vars { switch = [vip, hosts-alias], hosts-alias = db.lab }");
        shop = shop(pg.host("db1"));
        // the site's name for the database, as it stands before the move
        pg.host("app1").docker("sh", "-c", "echo '" + pg.host("db1").address() + " db.lab' >> /etc/hosts");
    }

    /** The test data but the app's writes (which the client changes). */
    static String shop(LabHost h) {
        String f = PgLab.fingerprint(h);
        return f.substring(0, f.lastIndexOf(' '));
    }

    static String alias(LabHost client) {
        return client.docker("sh", "-c", "getent hosts db.lab | cut -d' ' -f1").strip();
    }

    @Test
    @Order(0)
    void badInputIsRefusedBeforeAnyHostIsContacted() {
        PgLab.Run r = pg.playbook("major-move", "-e", "new-version=15", "-e", "jobs=many");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("jobs must be a number from 1 to 999 or auto, got 'many'"), r.out());
        PgLab.Run old = pg.playbook("major-move", "-e", "new-version=13");
        assertEquals(1, old.code(), old.out());
        assertTrue(old.out().contains("nothing was run"), old.out());
        assertTrue(old.out().contains("new-version 13 is not newer than pg-version 13"), old.out());
    }

    @Test
    @Order(1)
    void checkModeChangesNothing() {
        LabHost db3 = pg.host("db3");
        String clusters = db3.docker("pg_lsclusters", "--no-header");
        PgLab.Run r = pg.playbook("major-move", "--check", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("would drop and make 15/main on db3 again"), r.out());
        assertEquals(clusters, db3.docker("pg_lsclusters", "--no-header"));
        assertEquals(pg.host("db1").address(), alias(pg.host("app1")));
        assertEquals("", pg.host("db1").docker("sh", "-c", "ls /var/lib/pgplay/major-move-main.status 2>/dev/null || true").strip());
    }

    @Test
    @Order(2)
    void aClientWritingByNameLosesNothingAndFollowsTheMove() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db3 = pg.host("db3");
        LabHost app1 = pg.host("app1");
        NameClient client = NameClient.start(app1, 400);
        PgLab.Run r;
        try (client) {
            Thread.sleep(2000);
            r = pg.playbook("major-move", "-e", "new-version=15");
            Thread.sleep(2000);
        }
        assertEquals(0, r.code(), r.out());
        assertEquals(db3.address(), alias(app1), "db.lab leads to the new server");
        assertTrue(PgLab.holdsVip(db3, pg.vip) && !PgLab.holdsVip(db1, pg.vip), "the VIP moved with the database");
        assertEquals("15", PgLab.serverMajor(db3));
        assertEquals("13", PgLab.serverMajor(db1));
        assertEquals("on", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "the old server stays read-only");
        assertEquals("off", PgLab.sql(db3, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(shop, shop(db3), "the test data moved unchanged");
        assertEquals("0", PgLab.sql(db1, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgplay_move'"), "the copy's role is gone");
        assertEquals("0", PgLab.sql(db3, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgplay_move'"));
        assertFalse(db1.docker("cat", "/etc/postgresql/13/main/pg_hba.conf").contains("pgplay_move"), "the copy's pg_hba line is gone");
        assertEquals("", db3.docker("sh", "-c", "ls /var/lib/postgresql/.pgplay-move.pgpass 2>/dev/null || true").strip());
        assertTrue(r.out().matches("(?s).*verification while writes were blocked: \\d+ items identical.*"), r.out());
        assertTrue(r.out().matches("(?s).*writes refused \\(blocked on the source until the clients were moved to db3\\): \\d+ ms.*"), r.out());
        assertTrue(r.out().contains("app1: db.lab -> " + db3.address() + " (was " + db1.address() + ")"), r.out());
        assertTrue(r.out().contains("extensions in use: hstore, plpgsql"), r.out());

        List<Long> acked = client.acknowledged();
        assertTrue(acked.size() > 20, "the client wrote too little: " + acked.size());
        RollingMinorIT.assertAllPresent(acked, db3);
        java.util.Set<String> onDb1 = java.util.Set.of(PgLab.sql(db1, "app", "SELECT id FROM writes WHERE id > 3000000000").split("\n"));
        long onDb3Only = acked.stream().filter(id -> !onDb1.contains(String.valueOf(id))).count();
        assertTrue(onDb3Only > 0, "the client wrote to db3 after the switch");
        System.out.printf("major-move with a client by name: %d commits acknowledged (%d after the switch), %s attempts failed%n", acked.size(), onDb3Only,
                client.failures());

        PgLab.Run again = pg.playbook("major-move", "-e", "new-version=15");
        assertEquals(0, again.code(), again.out());
        assertTrue(again.out().contains("already moved to db3"), again.out());
        assertFalse(again.out().contains("changed:"), again.out());
    }

    @Test
    @Order(3)
    void theWayBackIsRefusedWhileTheNewServerHasWritesOfItsOwnAndGoesBackWhenTheyMayBeLost() {
        LabHost db1 = pg.host("db1");
        LabHost db3 = pg.host("db3");
        LabHost app1 = pg.host("app1");
        PgLab.Run refused = pg.playbook("major-move-rollback", "-e", "new-version=15");
        assertEquals(2, refused.code(), refused.out());
        assertTrue(refused.out().contains("db3 took writes since the switch (rmgr:"), refused.out());
        assertEquals("off", PgLab.sql(db3, "postgres", "SHOW default_transaction_read_only"), "db3 still takes writes");
        assertEquals("on", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(db3.address(), alias(app1));

        PgLab.Run back = pg.playbook("major-move-rollback", "-e", "new-version=15", "-e", "accept-data-loss=true");
        assertEquals(0, back.code(), back.out());
        assertTrue(back.out().contains("will be LOST (accept-data-loss)"), back.out());
        assertEquals(db1.address(), alias(app1), "db.lab leads to the old server again");
        assertTrue(PgLab.holdsVip(db1, pg.vip) && !PgLab.holdsVip(db3, pg.vip));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "the old server takes writes again");
        assertEquals("on", PgLab.sql(db3, "postgres", "SHOW default_transaction_read_only"));
        assertTrue(db1.docker("cat", "/var/lib/pgplay/major-move-main.status").contains("state=rolled-back"));
    }

    @Test
    @Order(4)
    void aSecondMoveReplacesTheTargetAndAWayBackWithoutWritesLosesNothing() {
        LabHost db1 = pg.host("db1");
        LabHost db3 = pg.host("db3");
        LabHost app1 = pg.host("app1");
        PgLab.sql(db1, "app", "INSERT INTO writes (id) VALUES (4000000001)");
        String before = PgLab.fingerprint(db1);
        PgLab.Run r = pg.playbook("major-move", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("made by a move given up earlier"), r.out());
        assertEquals(before, PgLab.fingerprint(db3), "every row, the app's too, is on db3");
        assertEquals(db3.address(), alias(app1));

        PgLab.Run back = pg.playbook("major-move-rollback", "-e", "new-version=15");
        assertEquals(0, back.code(), back.out());
        assertTrue(back.out().contains("no writes on db3 since the switch"), back.out());
        assertEquals(before, PgLab.fingerprint(db1));
        assertEquals(db1.address(), alias(app1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        PgLab.Run twice = pg.playbook("major-move-rollback", "-e", "new-version=15");
        assertEquals(0, twice.code(), twice.out());
        assertTrue(twice.out().contains("nothing to roll back"), twice.out());
    }

    @Test
    @Order(5)
    void aControllerKilledDuringTheCopyLeavesOneServerAtMostWritableAndAPlainReRunFinishes() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db3 = pg.host("db3");
        String before = PgLab.fingerprint(db1);
        try (Controller c = Controller.start(LAB.lab().dir().resolve("move-kill"), "major-move", pg.inventory, "-e", "new-version=15")) {
            assertTrue(c.awaitTaskStart("copy roles and databases", 300_000), "the run never reached the copy:\n" + c.output());
            Thread.sleep(1500);
            c.kill();
            System.out.println("---- killed 1500 ms into the copy:\n" + c.output());
        }
        assertEquals("on", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "writes stay blocked on the source");
        assertEquals("on", PgLab.sql(db3, "postgres", "SHOW default_transaction_read_only"), "the target is not open");
        assertEquals(db1.address(), alias(pg.host("app1")));
        PgLab.Run r = pg.playbook("major-move", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("continuing: upgrading"), r.out());
        assertEquals(before, PgLab.fingerprint(db3), "every row moved, once");
        assertEquals(db3.address(), alias(pg.host("app1")));
        assertEquals("on", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
    }
}
