package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import dev.pgplay.lab.LabHost;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * cluster-setup, then rolling-minor 15.18 -> 15.20 while an independent writer inserts through the
 * VIP: both hosts end on 15.20 and streaming, every acknowledged row is on both, never were both
 * nodes writable, and exactly one host holds the VIP.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), null);
        pg.setUpCluster();
    }

    @Test
    @Order(1)
    void clusterSetupIsIdempotent() {
        PgLab.Run again = pg.playbook("cluster-setup");
        assertEquals(0, again.code());
        assertTrue(again.out().matches("(?s).*db1 *: ok=\\d+ +changed=0 .*"), again.out());
        assertTrue(again.out().matches("(?s).*db2 *: ok=\\d+ +changed=0 .*"), again.out());
        assertTrue(PgLab.inRecovery(pg.host("db2")));
        assertTrue(PgLab.holdsVip(pg.host("db1"), pg.vip));
    }

    @Test
    @Order(2)
    void checkModePrintsThePlanAndChangesNothing() {
        String before = state();
        PgLab.Run r = pg.playbook("rolling-minor", "--check");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("would wait until db2 replayed past db1's shutdown checkpoint, then promote db2"), r.out());
        assertTrue(r.out().contains("would: install postgresql-15=15.20-0+deb12u1"), r.out());
        assertEquals(before, state(), "check mode changed the cluster");
    }

    @Test
    @Order(3)
    void rollingMinorUnderWriteLoadLosesNothing() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        PgLab.Run r;
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        try {
            Thread.sleep(1000);
            r = pg.playbook("rolling-minor");
            Thread.sleep(1000);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        assertEquals("15.20-0+deb12u1", PgLab.version(db1));
        assertEquals("15.20-0+deb12u1", PgLab.version(db2));
        // roles swapped: db2 primary, db1 streams from it
        assertFalse(PgLab.inRecovery(db2));
        assertTrue(PgLab.inRecovery(db1));
        assertEquals("streaming " + db2.address(), PgLab.sql(db1, "postgres", "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver"));
        assertTrue(PgLab.sql(db1, "postgres", "SHOW server_version").startsWith("15.20"));
        assertTrue(PgLab.sql(db2, "postgres", "SHOW server_version").startsWith("15.20"));
        // every acknowledged commit is on the new primary and, once caught up, on the standby
        List<Long> acked = writer.acknowledged();
        assertTrue(acked.size() > 100, "the writer wrote too little: " + acked.size());
        assertAllPresent(acked, db2);
        waitCaughtUp(db2, db1);
        assertAllPresent(acked, db1);
        assertEquals(0, monitor.bothWritable(), "both nodes accepted writes at once");
        assertTrue(monitor.rounds() > 50);
        assertTrue(PgLab.holdsVip(db2, pg.vip) ^ PgLab.holdsVip(db1, pg.vip), "the VIP must be on exactly one host");
        assertTrue(PgLab.holdsVip(db2, pg.vip));
        assertTrue(r.out().contains("rejoin method: direct"), r.out());
        assertEquals("0", PgLab.sql(db1, "postgres", "SELECT count(*) FROM pg_replication_slots"),
                "the rejoined standby must not keep slots that pin its WAL");
        assertEquals("pgplay_db1 true", PgLab.sql(db2, "postgres", "SELECT slot_name || ' ' || active FROM pg_replication_slots"));
        System.out.printf("rolling-minor: %d commits acknowledged, %d writer errors, longest gap between commits %d ms%n",
                acked.size(), writer.failures(), writer.longestGapMillis());
    }

    @Test
    @Order(4)
    void aSecondRunFindsNothingToDo() {
        String before = state();
        PgLab.Run r = pg.playbook("rolling-minor");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("switchovers: none"), r.out());
        assertEquals(before, state());
    }

    static String state() {
        StringBuilder sb = new StringBuilder();
        for (String h : List.of("db1", "db2")) {
            LabHost host = pg.host(h);
            sb.append(h).append(' ').append(PgLab.version(host)).append(' ').append(PgLab.sql(host, "postgres", "SHOW server_version"))
                    .append(" recovery=").append(PgLab.inRecovery(host)).append(" vip=").append(PgLab.holdsVip(host, pg.vip)).append('\n');
        }
        return sb.toString();
    }

    static void assertAllPresent(List<Long> acked, LabHost host) {
        Set<Long> present = new HashSet<>();
        for (String line : PgLab.sql(host, "app", "SELECT id FROM writes").split("\n")) {
            if (!line.isBlank()) {
                present.add(Long.parseLong(line.trim()));
            }
        }
        List<Long> missing = acked.stream().filter(id -> !present.contains(id)).toList();
        assertEquals(List.of(), missing, host.name() + " lacks acknowledged rows");
    }

    static void waitCaughtUp(LabHost primary, LabHost standby) throws InterruptedException {
        String target = PgLab.sql(primary, "postgres", "SELECT pg_current_wal_lsn()");
        for (int i = 0; i < 300; i++) {
            if ("t".equals(PgLab.sql(standby, "postgres", "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn"))) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(standby.name() + " did not catch up to " + target + " in 30 s");
    }
}
