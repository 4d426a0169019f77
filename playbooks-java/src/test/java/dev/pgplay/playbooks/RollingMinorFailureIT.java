package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.Writer;
import dev.pgplay.lab.LabHost;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Failures of rolling-minor on real hosts: the WAL proof fails (no promotion, old primary serves
 * through the VIP again), and a run cut off right after the promotion is finished by the next run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorFailureIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;
    static Inventory inventory;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), null);
        pg.setUpCluster();
        inventory = Inventory.load(pg.inventory);
    }

    /** Runs rolling-minor in this JVM with an extra listener (fault injection), printing the console output. */
    static RunResult run(Map<String, Object> vars, RunListener extra, AtomicReference<Runner> self) {
        return pg.runInProcess(new RollingMinor(), vars, extra, self).result();
    }

    @Test
    @Order(1)
    void whenTheProofFailsNothingIsPromotedAndTheOldPrimaryServesAgain() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        String unreachable = LAB.lab().network().address(199);
        AtomicReference<String> failure = new AtomicReference<>("");
        RunListener fault = new RunListener() {
            @Override
            public void taskStarted(Play play, Task task, boolean handler) {
                if (task.name().startsWith("primary: journal the switchover")) {
                    // the standby's WAL receiver loses its primary just before the switchover
                    PgLab.sql(db2, "postgres", "ALTER SYSTEM SET primary_conninfo = 'host=" + unreachable + " connect_timeout=1'");
                    PgLab.sql(db2, "postgres", "SELECT pg_reload_conf()");
                }
            }

            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                if (result instanceof TaskResult.Failed) {
                    failure.set(result.message());
                }
            }
        };
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        RunResult r;
        try {
            Thread.sleep(500);
            r = run(Map.of("proof-timeout-seconds", "3"), fault, null);
            Thread.sleep(1500);
        } finally {
            writer.close();
        }
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertTrue(failure.get().startsWith("NOT promoted: db2 received up to "), failure.get());
        assertTrue(failure.get().contains("db1 was started again and holds the VIP"), failure.get());
        assertFalse(PgLab.inRecovery(db1), "db1 must be the primary again");
        assertTrue(PgLab.inRecovery(db2), "db2 must not have been promoted");
        assertTrue(PgLab.holdsVip(db1, pg.vip));
        assertFalse(PgLab.holdsVip(db2, pg.vip));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "db1 must accept writes again");
        // writes through the VIP reach db1 again after the failed attempt
        int before = writer.acknowledged().size();
        assertTrue(before > 50);
        RollingMinorIT.assertAllPresent(writer.acknowledged(), db1);
        long lastAck = writer.lastAckNanos();
        assertTrue(System.nanoTime() - lastAck < 5_000_000_000L, "the writer was still committing through the VIP at the end");
        // db2 has not been upgraded past its binaries' restart: it is on 15.20 packages but still a standby of db1
        PgLab.sql(db2, "postgres", "ALTER SYSTEM RESET primary_conninfo");
        PgLab.sql(db2, "postgres", "SELECT pg_reload_conf()");
    }

    @Test
    @Order(2)
    void aRunCutOffAfterThePromotionIsFinishedByTheNextRun() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        AtomicReference<Runner> self = new AtomicReference<>();
        RunListener cut = new RunListener() {
            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                if (task.name().startsWith("standby: prove") && result instanceof TaskResult.Changed) {
                    self.get().cancel(); // as if the controller died here
                }
            }
        };
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        try {
            Thread.sleep(500);
            RunResult first = run(Map.of(), cut, self);
            assertTrue(first.cancelled());
            assertFalse(PgLab.inRecovery(db2), "db2 was promoted before the cut");
            assertTrue(db1.dockerResult("su", "postgres", "-c", "psql -c 'select 1'").getExitCode() != 0, "db1 is down after the cut");

            PgLab.Run second = pg.playbook("rolling-minor");
            assertEquals(0, second.code(), second.out());
            assertTrue(second.out().contains("db1 is the fenced old primary of that switchover, it will rejoin"), second.out());
            Thread.sleep(1000);
        } finally {
            writer.close();
        }
        assertTrue(PgLab.inRecovery(db1));
        assertEquals("streaming " + db2.address(), PgLab.sql(db1, "postgres", "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver"));
        assertEquals("15.20-0+deb12u1", PgLab.version(db1));
        assertEquals("15.20-0+deb12u1", PgLab.version(db2));
        assertTrue(PgLab.holdsVip(db2, pg.vip) && !PgLab.holdsVip(db1, pg.vip));
        RollingMinorIT.assertAllPresent(writer.acknowledged(), db2);
        RollingMinorIT.waitCaughtUp(db2, db1);
        RollingMinorIT.assertAllPresent(writer.acknowledged(), db1);
    }
}
