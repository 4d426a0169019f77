package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Task;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Network cuts (the host's interface down: packets lost, connections hang) in the middle of
 * rolling-minor: the standby during the switchover (before the proof, and right after the promotion
 * was asked for), the old primary during its rejoin. The run
 * fails cleanly and in bounded time, one node writable holding the VIP; once the network is back,
 * a plain re-run converges. A writer through the VIP and a monitor of both nodes run throughout.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorNetworkIT {
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
    void standbyCutOffDuringTheSwitchover_oldPrimaryServesAgain_thenARerunConverges() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        RunListener cut = new RunListener() {
            @Override
            public void taskStarted(Play play, Task task, boolean handler) {
                if (task.name().startsWith("primary: fast shutdown")) {
                    db2.cutNetwork();
                }
            }
        };
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.InProcess first;
        PgLab.Run rerun;
        long took;
        try {
            Thread.sleep(300);
            long t0 = System.nanoTime();
            first = pg.runInProcess(new RollingMinor(), Map.of("proof-timeout-seconds", "3"), cut, null);
            took = (System.nanoTime() - t0) / 1_000_000_000L;
            Thread.sleep(1000);
            // while db2 is cut off: db1 serves and holds the VIP, writable
            assertFalse(PgLab.inRecovery(db1), "db1 serves again");
            assertTrue(PgLab.holdsVip(db1, pg.vip));
            assertTrue(System.nanoTime() - writer.lastAckNanos() < 2_000_000_000L, "the writer commits through the VIP while db2 is cut off");
            db2.healNetwork();
            rerun = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            db2.healNetwork();
            writer.close();
            monitor.close();
        }
        assertTrue(first.code() != 0, first.out());
        assertTrue(first.out().contains("NOT promoted: db2 could not be read"), first.out());
        assertTrue(first.out().contains("db1 was started again and holds the VIP"), first.out());
        assertTrue(took < 120, "the cut run ended within bounds (" + took + " s)");
        assertEquals(0, rerun.code(), rerun.out());
        assertHealthy(writer, monitor);
    }

    @Test
    @Order(2)
    void oldPrimaryCutOffDuringItsRejoin_newPrimaryServes_thenARerunConverges() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost primary = PgLab.inRecovery(db1) ? db2 : db1;
        LabHost standby = primary == db1 ? db2 : db1;
        RunListener cut = new RunListener() {
            @Override
            public void taskStarted(Play play, Task task, boolean handler) {
                if (task.name().startsWith("old primary: rejoin as a standby")) {
                    primary.cutNetwork();
                }
            }
        };
        PgLab.sql(primary, "app", "TRUNCATE writes");
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.InProcess first;
        PgLab.Run rerun;
        try {
            Thread.sleep(300);
            first = pg.runInProcess(new RollingMinor(), Map.of("switchover", "true"), cut, null);
            Thread.sleep(1000);
            assertFalse(PgLab.inRecovery(standby), standby.name() + " was promoted and serves");
            assertTrue(PgLab.holdsVip(standby, pg.vip));
            assertTrue(System.nanoTime() - writer.lastAckNanos() < 2_000_000_000L, "the writer commits through the VIP");
            primary.healNetwork();
            rerun = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            primary.healNetwork();
            writer.close();
            monitor.close();
        }
        assertEquals(RunResult.UNREACHABLE_HOSTS, first.code() & RunResult.UNREACHABLE_HOSTS, first.out());
        assertEquals(0, rerun.code(), rerun.out());
        assertHealthy(writer, monitor);
    }

    @Test
    @Order(3)
    void standbyCutOffRightAfterThePromotionWasAskedFor_theStoppedOldPrimaryLetsTheVipGo_thenARerunConverges() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost primary = PgLab.inRecovery(db1) ? db2 : db1;
        LabHost standby = primary == db1 ? db2 : db1;
        RunListener cut = new RunListener() {
            @Override
            public void progress(dev.pgplay.inventory.Host host, Task task, String line) {
                if (line.startsWith("promotion of " + standby.name() + " asked for")) {
                    standby.cutNetwork();
                }
            }
        };
        // ids of their own: the table keeps the earlier tests' rows
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000, 8_000_000_000L).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.InProcess first;
        PgLab.Run rerun;
        boolean oldPrimaryHeldVip;
        try {
            Thread.sleep(300);
            first = pg.runInProcess(new RollingMinor(), Map.of("switchover", "true"), cut, null);
            oldPrimaryHeldVip = PgLab.holdsVip(primary, pg.vip);
            standby.healNetwork();
            Thread.sleep(1000);
            assertFalse(PgLab.holdsVip(primary, pg.vip) && PgLab.holdsVip(standby, pg.vip), "never two nodes with the VIP once the network heals");
            rerun = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            standby.healNetwork();
            writer.close();
            monitor.close();
        }
        assertTrue(first.code() != 0, first.out());
        assertTrue(first.out().contains("the promotion of " + standby.name() + " was asked for"), first.out());
        assertTrue(first.out().contains("the VIP is off " + primary.name()), first.out());
        assertFalse(oldPrimaryHeldVip, "the stopped, fenced old primary let the VIP go when the run gave up");
        assertEquals(0, rerun.code(), rerun.out());
        assertHealthy(writer, monitor);
    }

    static void assertHealthy(Writer writer, WritableMonitor monitor) throws InterruptedException {
        pg.assertHealthyPair(writer, monitor, RollingMinorKillIT.TARGET, "after the cut and a re-run");
    }
}
