package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * The controller is lost (SIGKILL of the playbook JVM) in the middle of major upgrades on systemd
 * hosts: copy mode while verifying, dump/restore while copying, link mode while pg_upgrade runs.
 * Each time the way on ({@code --resume}) or back ({@code major-rollback}) ends with a healthy,
 * writable primary on one major, the data unchanged, and the standby streaming.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MajorKillIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;
    static String fingerprint;

    @BeforeAll
    static void cluster() throws Exception {
        pg = PgLab.onMajor13(LAB.lab());
        fingerprint = PgLab.fingerprint(pg.host("db1"));
    }

    /** Starts the playbook in its own JVM and SIGKILLs it {@code delayMillis} after {@code task} started. */
    static void killAt(String task, long delayMillis, String playbook, String... args) throws Exception {
        try (Controller c = Controller.start(LAB.lab().dir().resolve("major-kills"), playbook, pg.inventory, args)) {
            boolean reached = c.awaitTaskStart(task, 300_000);
            assertTrue(reached, "the run never reached " + task + ":\n" + c.output());
            Thread.sleep(delayMillis);
            c.kill();
            System.out.println("---- killed " + delayMillis + " ms after '" + task + "' started:\n" + c.output());
        }
    }

    static void assertHealthy(String major) throws InterruptedException {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        assertEquals(major, PgLab.serverMajor(db1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "the primary takes writes");
        assertEquals(fingerprint, PgLab.fingerprint(db1), "the data is unchanged");
        assertEquals(major, PgLab.serverMajor(db2));
        for (int i = 0; i < 100 && !("streaming " + db1.address()).equals(PgLab.receiver(db2)); i++) {
            Thread.sleep(200);
        }
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2), "the standby streams from the primary");
    }

    @Test
    @Order(1)
    void copyCutWhileVerifying_resumeFinishes_thenRollbackGoesBack() throws Exception {
        killAt("verify: old against new", 300, "major-upgrade", "-e", "new-version=15", "-e", "method=copy");
        PgLab.Run resumed = pg.playbook("major-upgrade", "-e", "new-version=15", "-e", "method=copy", "--resume");
        assertEquals(0, resumed.code(), resumed.out());
        assertHealthy("15");
        PgLab.Run back = pg.playbook("major-rollback", "-e", "accept-data-loss=true");
        assertEquals(0, back.code(), back.out());
        assertHealthy("13");
    }

    @Test
    @Order(2)
    void dumpCutWhileCopying_rollbackReopensTheOldCluster() throws Exception {
        killAt("copy roles and databases", 1500, "major-dump", "-e", "new-version=15");
        PgLab.Run plain = pg.playbook("major-dump", "-e", "new-version=15");
        assertEquals(2, plain.code(), "a plain re-run of an unfinished upgrade is refused:\n" + plain.out());
        PgLab.Run back = pg.playbook("major-rollback");
        assertEquals(0, back.code(), back.out());
        assertHealthy("13");
    }

    @Test
    @Order(3)
    void linkCutWhilePgUpgradeRunsThenWhileTheStandbyIsSynced_resumeFinishes() throws Exception {
        killAt("pg_upgrade --link", 200, "major-upgrade", "-e", "new-version=15", "-e", "method=link");
        // the resumed run is cut again inside the rsync step: the standby stopped, its new cluster half made or half synced
        killAt("standbys: caught up and stopped", 1500, "major-upgrade", "-e", "new-version=15", "-e", "method=link", "--resume");
        PgLab.Run resumed = pg.playbook("major-upgrade", "-e", "new-version=15", "-e", "method=link", "--resume");
        assertEquals(0, resumed.code(), resumed.out());
        // the standby was found at the stop's checkpoint before rsync began (pg_upgrade's own restarts of the old
        // cluster, run twice here, change no data): the cut rsync is run again, whatever it had copied
        assertTrue(resumed.out().contains("standbys: db2=rsync"), resumed.out());
        assertHealthy("15");
        assertEquals(fingerprint, PgLab.fingerprint(pg.host("db2")), "the standby holds the same data");
    }
}
