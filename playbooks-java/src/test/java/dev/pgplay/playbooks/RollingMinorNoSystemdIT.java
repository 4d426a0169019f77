package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hosts without an init system stay supported: clusters started with pg_ctl, long commands run in
 * the SSH session (no systemd-run), package scripts that cannot start services. rolling-minor under
 * write load, then a controller killed between the stop and the promotion, finished by a re-run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorNoSystemdIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.of(Lab.builder().hosts("db1", "db2").withoutSystemd());
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), null);
        pg.setUpCluster();
        assertTrue(LAB.host("db1").dockerResult("test", "-d", "/run/systemd/system").getExitCode() != 0, "no systemd on these hosts");
    }

    @Test
    @Order(1)
    void rollingMinorUnderWriteLoad() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.Run r;
        try {
            Thread.sleep(500);
            r = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("switchovers: db1 -> db2"), r.out());
        pg.assertHealthyPair(writer, monitor, RollingMinorKillIT.TARGET, "no systemd");
    }

    @Test
    @Order(2)
    void controllerKilledBetweenTheStopAndThePromotion() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        PgLab.sql(PgLab.inRecovery(db1) ? db2 : db1, "app", "TRUNCATE writes");
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.Run rerun;
        try {
            Thread.sleep(300);
            try (Controller c = Controller.start(LAB.lab().dir().resolve("kills"), "rolling-minor", pg.inventory, "-e", "switchover=true")) {
                assertTrue(c.awaitTaskStart("standby: prove it has every byte", 120_000), c.output());
                Thread.sleep(5);
                c.kill();
            }
            rerun = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, rerun.code(), rerun.out());
        assertTrue(rerun.out().contains("a switchover cut") || rerun.out().contains("switchover db"), rerun.out());
        pg.assertHealthyPair(writer, monitor, RollingMinorKillIT.TARGET, "no systemd, cut before the promotion");
    }
}
