package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One primary and two standbys: rolling-minor upgrades the standby that stays a standby first,
 * then the one named by -e new-primary, switches over to it under write load, and the other
 * standby and the old primary end streaming from the new primary, with nothing lost and never two
 * writable nodes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorStandbysIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2", "db3");
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), "roles { standby = [db2, db3] }");
        pg.setUpCluster();
    }

    @Test
    @Order(1)
    void aNewPrimaryThatIsNoStandbyIsRefusedBeforeAnyHostIsContacted() {
        PgLab.Run r = pg.playbook("rolling-minor", "-e", "new-primary=db1");
        assertNotEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("-e new-primary=db1: not a standby of roles.standby [db2, db3]"), r.out());
        assertFalse(r.out().contains("TASK ["), "no task ran:\n" + r.out());
    }

    @Test
    @Order(2)
    void bothStandbysUpgradedThenTheNamedOneTakesOverAndTheOtherFollowsIt() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost db3 = pg.host("db3");
        PgLab.Run r;
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(List.of(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app"),
                pg.jdbc(db3.address(), "app")), "SELECT NOT pg_is_in_recovery()").start();
        try {
            Thread.sleep(1000);
            r = pg.playbook("rolling-minor", "-e", "new-primary=db3");
            Thread.sleep(1000);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        for (LabHost h : List.of(db1, db2, db3)) {
            assertEquals("15.20-0+deb12u1", PgLab.version(h), h.name());
            assertTrue(PgLab.sql(h, "postgres", "SHOW server_version").startsWith("15.20"), h.name());
        }
        // db2, which stays a standby, was upgraded in the play before the switchover's pair
        String out = r.out();
        int others = out.indexOf("PLAY [other standbys first, one at a time]");
        int pair = out.indexOf("PLAY [rolling minor upgrade of PostgreSQL 15]");
        assertTrue(others >= 0 && pair > others, out);
        assertTrue(out.substring(others, pair).matches("(?s).*changed: \\[db2\\] => install postgresql-15=15\\.20.*ok: \\[db2\\] => 15\\.20 .*"), out);
        assertFalse(out.substring(others, pair).contains("changed: [db3]"), out);
        assertTrue(out.contains("switchovers: db1 -> db3"), out);
        assertFalse(PgLab.inRecovery(db3));
        assertTrue(PgLab.inRecovery(db1));
        assertTrue(PgLab.inRecovery(db2));
        assertEquals("streaming " + db3.address(), PgLab.receiver(db1));
        assertEquals("streaming " + db3.address(), PgLab.receiver(db2), "the other standby follows the new primary");
        assertEquals(PgLab.sql(db3, "postgres", "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"),
                PgLab.sql(db2, "postgres", "SELECT received_tli FROM pg_stat_wal_receiver"), "db2 is on the new primary's timeline");
        assertTrue(out.contains("db2: streams from db3"), out);
        List<Long> acked = writer.acknowledged();
        assertTrue(acked.size() > 100, "the writer wrote too little: " + acked.size());
        RollingMinorIT.assertAllPresent(acked, db3);
        for (LabHost standby : List.of(db1, db2)) {
            RollingMinorIT.waitCaughtUp(db3, standby);
            RollingMinorIT.assertAllPresent(acked, standby);
        }
        assertEquals(0, monitor.bothWritable(), "two nodes accepted writes at once");
        assertTrue(monitor.rounds() > 50);
        assertTrue(PgLab.holdsVip(db3, pg.vip));
        assertFalse(PgLab.holdsVip(db1, pg.vip) || PgLab.holdsVip(db2, pg.vip), "the VIP is on the new primary only");
        assertEquals("pgplay_db1 true, pgplay_db2 true", PgLab.sql(db3, "postgres",
                "SELECT string_agg(slot_name || ' ' || active, ', ' ORDER BY slot_name) FROM pg_replication_slots"));
        System.out.printf("rolling-minor with two standbys: %d commits acknowledged, %d writer errors, longest gap between commits %d ms%n",
                acked.size(), writer.failures(), writer.longestGapMillis());
    }

    @Test
    @Order(4)
    void aControllerKilledAsTheOtherStandbyIsRePointedLeavesAPlainReRunToFinish() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost db3 = pg.host("db3");
        WritableMonitor monitor = new WritableMonitor(List.of(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app"),
                pg.jdbc(db3.address(), "app")), "SELECT NOT pg_is_in_recovery()").start();
        PgLab.Run r;
        try {
            // a planned switchover db3 -> db2, cut as db1 (the other standby) is made to follow db2
            try (Controller c = Controller.start(LAB.lab().dir().resolve("kills"), "rolling-minor", pg.inventory,
                    "-e", "switchover=true", "-e", "new-primary=db2")) {
                assertTrue(c.awaitTaskStart("other standbys: follow the primary", 300_000), "never reached the re-point:\n" + c.output());
                c.kill();
                System.out.println("---- killed as the other standby was re-pointed:\n" + c.output());
            }
            r = pg.playbook("rolling-minor");
        } finally {
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("a switchover cut by a lost controller"), r.out());
        assertFalse(PgLab.inRecovery(db2));
        for (LabHost standby : List.of(db1, db3)) {
            assertTrue(PgLab.inRecovery(standby), standby.name());
            assertEquals("streaming " + db2.address(), PgLab.receiver(standby), standby.name() + " follows db2");
        }
        assertEquals(0, monitor.bothWritable(), "two nodes accepted writes at once");
        assertTrue(PgLab.holdsVip(db2, pg.vip));
    }

    @Test
    @Order(3)
    void aSecondRunFindsNothingToDo() {
        PgLab.Run r = pg.playbook("rolling-minor", "-e", "new-primary=db3");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("switchovers: none"), r.out());
        assertTrue(r.out().matches("(?s).*ok: \\[db2\\] => streams from db3.*"), r.out());
        for (String h : List.of("db1", "db2", "db3")) {
            assertTrue(r.out().matches("(?s).*" + h + " *: ok=\\d+ +changed=0 .*"), r.out());
        }
    }
}
