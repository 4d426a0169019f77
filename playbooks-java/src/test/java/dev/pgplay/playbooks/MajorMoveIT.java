package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.Task;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.Poller;
import dev.pgplay.lab.Writer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * major-move (seed 002): PostgreSQL 13 on db1 (with its standby db2) moves to 15 on db3 by dump
 * and restore; app1 is a client that finds the database as db.lab in its /etc/hosts and writes
 * through it, a new connection per commit, and a writer goes through the VIP, while monitoring
 * polls db3 (over TCP as a role the source has, and as postgres on its local socket). The name and the VIP lead to db3 afterwards, no
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
        // a monitoring role of the site, with a password (SCRAM, as pg_hba asks)
        PgLab.sql(pg.host("db1"), "postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE monitor LOGIN PASSWORD 'mon-pw' IN ROLE pg_monitor");
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
    void aClientWritingByNameLosesNothingAndFollowsTheMoveWhileMonitoringWatchesTheTarget() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db3 = pg.host("db3");
        LabHost app1 = pg.host("app1");
        // monitoring set up on the new server before it takes traffic: a poller over TCP every 10 ms as a role the
        // source has (it gets in once the roles are copied), an agent on db3's local socket as postgres every 50 ms
        Poller monitor = new Poller(pg.jdbc(db3.address(), "postgres"), "monitor", "mon-pw", 10).start();
        db3.docker("sh", "-c", "nohup timeout 600 su postgres -c 'while :; do PGAPPNAME=agent psql -X -q -d postgres -c \"SELECT 1\" "
                + ">/dev/null 2>&1; sleep 0.05; done' >/dev/null 2>&1 & echo $! > /tmp/agent.pid");
        AtomicInteger answersBeforeSwitch = new AtomicInteger(-1);
        RunListener watch = new RunListener() {
            @Override
            public void taskStarted(Play play, Task task, boolean handler) {
                if (task.name().startsWith("the target's cluster kept to this move")) {
                    // a session already open when the door closes (an admin's or an agent's psql, as postgres)
                    db3.docker("sh", "-c", "PGAPPNAME=pgwatch nohup su postgres -c \"psql -X -d postgres -c 'SELECT pg_sleep(300)'\" >/dev/null 2>&1 &");
                    MajorUpgradeIT.waitFor(() -> PgLab.sql(db3, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgwatch'").equals("1"));
                }
                if (task.name().startsWith("switch:")) {
                    answersBeforeSwitch.set(monitor.answers());
                }
            }
        };
        NameClient client = NameClient.start(app1, 400);
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000, 5_000_000_000L).start();
        PgLab.InProcess r;
        try (client; writer; monitor) {
            Thread.sleep(2000);
            r = pg.runInProcess(new MajorMove(), Map.of("new-version", "15"), watch, null);
            Thread.sleep(2000);
            MajorUpgradeIT.waitFor(() -> monitor.answers() > 0);
        } finally {
            db3.docker("sh", "-c", "kill $(cat /tmp/agent.pid) 2>/dev/null; rm -f /tmp/agent.pid; true");
        }
        assertEquals(0, r.code(), r.out());
        assertEquals(0, answersBeforeSwitch.get(), "the monitor was kept out of db3 until the switch");
        assertTrue(monitor.answers() > 0, "the monitor gets in after the switch: " + monitor.lastError());
        assertTrue(r.out().contains("clients kept out of db3's cluster until the switch"), r.out());
        assertTrue(r.out().matches("(?s).*sessions ended: [^\\n]*postgres@local on postgres \\(pgwatch\\).*"), r.out());
        assertFalse(db3.docker("cat", "/etc/postgresql/15/main/pg_hba.conf").contains("pgplay door"), "the door is open after the switch");
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
        assertTrue(writer.acknowledged().size() > 20, "the writer through the VIP wrote too little: " + writer.acknowledged().size());
        RollingMinorIT.assertAllPresent(writer.acknowledged(), db3);
        java.util.Set<String> onDb1 = java.util.Set.of(PgLab.sql(db1, "app", "SELECT id FROM writes WHERE id > 3000000000").split("\n"));
        long onDb3Only = acked.stream().filter(id -> !onDb1.contains(String.valueOf(id))).count();
        assertTrue(onDb3Only > 0, "the client wrote to db3 after the switch");
        System.out.printf("major-move with a client by name, a writer through the VIP and a monitor on the target: %d + %d commits acknowledged "
                + "(%d of the client's after the switch), %s attempts failed; monitor %d answers, %d refused%n", acked.size(), writer.acknowledged().size(),
                onDb3Only, client.failures(), monitor.answers(), monitor.failures());

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
