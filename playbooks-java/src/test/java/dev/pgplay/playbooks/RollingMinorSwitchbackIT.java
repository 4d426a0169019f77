package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import dev.pgplay.lab.LabHost;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * rolling-minor with switchback under write load: the original primary serves again at the end.
 * The rejoins are forced through pg_rewind (first) so that path is proven on real servers too,
 * and pg_basebackup is proven by a forced rejoin afterwards.
 */
class RollingMinorSwitchbackIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), null);
        pg.setUpCluster();
    }

    @Test
    void upgradeWithSwitchbackUnderWriteLoad() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        PgLab.Run r;
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        try {
            Thread.sleep(1000);
            r = pg.playbook("rolling-minor", "-e", "switchback=true", "-e", "rejoin-method=pg_rewind");
            Thread.sleep(1000);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("switchovers: db1 -> db2, db2 -> db1"), r.out());
        // the old primary, fenced at its stop, was started by the package's scripts as a standby: no rewind needed; the switchback rewinds
        assertTrue(r.out().contains("rejoin method: direct, then pg_rewind"), r.out());
        assertFalse(PgLab.inRecovery(db1), "the original primary serves again");
        assertTrue(PgLab.inRecovery(db2));
        assertEquals("streaming " + db1.address(), PgLab.sql(db2, "postgres", "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver"));
        assertEquals("15.20-0+deb12u1", PgLab.version(db1));
        assertEquals("15.20-0+deb12u1", PgLab.version(db2));
        assertTrue(PgLab.holdsVip(db1, pg.vip) && !PgLab.holdsVip(db2, pg.vip));
        List<Long> acked = writer.acknowledged();
        assertTrue(acked.size() > 100);
        RollingMinorIT.assertAllPresent(acked, db1);
        RollingMinorIT.waitCaughtUp(db1, db2);
        RollingMinorIT.assertAllPresent(acked, db2);
        assertEquals(0, monitor.bothWritable(), "both nodes accepted writes at once");
        System.out.printf("rolling-minor with switchback: %d commits acknowledged, longest gap between commits %d ms%n",
                acked.size(), writer.longestGapMillis());

        // one more switchover and back, rejoining through pg_basebackup: data still complete
        PgLab.Run nothing = pg.playbook("rolling-minor", "-e", "switchback=true");
        assertEquals(0, nothing.code(), nothing.out());
        assertTrue(nothing.out().contains("switchovers: none"), "nothing to upgrade and db1 is primary: " + nothing.out());
        PgLab.Run again = pg.playbook("rolling-minor", "-e", "switchover=true", "-e", "switchback=true", "-e", "rejoin-method=pg_basebackup");
        assertEquals(0, again.code(), again.out());
        assertTrue(again.out().contains("switchovers: db1 -> db2, db2 -> db1"), again.out());
        assertTrue(again.out().contains("rejoin method: pg_basebackup, then pg_basebackup"), again.out());
        assertFalse(PgLab.inRecovery(db1));
        RollingMinorIT.assertAllPresent(acked, db1);
        RollingMinorIT.waitCaughtUp(db1, db2);
        RollingMinorIT.assertAllPresent(acked, db2);
    }
}
