package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.inventory.Host;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Failures of the major upgrades on real hosts. A table's file cut short by the copy: the
 * verification inside the window (catalog, file lengths, a sample of rows) refuses and the old
 * cluster serves again. pg_upgrade blackout: a library the database needs
 * disappears from the new installation after the old cluster was stopped; pg_upgrade fails and
 * the old cluster serves again on its port with its data. Dump and restore interrupted between
 * databases: writes stay blocked, a plain re-run refuses, major-rollback reopens the old cluster;
 * a second interrupted run is finished with --resume.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MajorFailureIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = PgLab.onMajor13(LAB.lab());
    }

    static PgLab.InProcess run(Playbook playbook, Map<String, Object> vars, RunListener fault, AtomicReference<Runner> self) {
        return pg.runInProcess(playbook, vars, fault, self);
    }

    static Map<String, Object> vars(String... kv) {
        Map<String, Object> m = new HashMap<>();
        m.put("new-version", "15");
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    @Order(0)
    void aTableFileCutShortByTheCopyIsCaughtAndTheOldClusterServesAgain() {
        LabHost db1 = pg.host("db1");
        String before = PgLab.fingerprint(db1);
        String file = PgLab.sql(db1, "shop", "SELECT pg_relation_filepath('sales.orders')");
        RunListener fault = new RunListener() {
            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                if (task.name().equals("pg_upgrade --copy") && result instanceof TaskResult.Changed) {
                    db1.docker("truncate", "-s", "8192", "/var/lib/postgresql/15/main/" + file); // the copy came out short
                }
            }
        };
        PgLab.InProcess r = run(new MajorUpgrade(), vars(), fault, null);
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().matches("(?s).*data file shop: sales\\.orders: " + java.util.regex.Pattern.quote(file) + " is 8192 bytes, the old one \\d+.*"), r.out());
        assertTrue(r.out().matches("(?s).*shop: sample sales\\.orders\\s+5000 rows, checksum \\w+\\s+\\d+ rows, checksum \\w+\\s+DIFFERENT.*"), r.out());
        assertTrue(r.out().contains("runs again on port 5432 and takes writes"), r.out());
        assertEquals("13", PgLab.serverMajor(db1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(before, PgLab.fingerprint(db1), "the old cluster's data is unchanged");
        assertEquals(0, run(new MajorRollback(), vars(), new RunListener() { }, null).code(), "the failed upgrade's traces cleared");
        MajorUpgradeIT.waitFor(() -> ("streaming " + db1.address()).equals(PgLab.receiver(pg.host("db2"))));
    }

    @Test
    @Order(1)
    void aLinkUpgradeFailingWhileTheStandbyIsSyncedPutsBothBackOn13() {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        String before = PgLab.fingerprint(db1);
        RunListener fault = new RunListener() {
            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                if (task.name().equals("pg_upgrade --link") && result instanceof TaskResult.Changed) {
                    db2.docker("mv", "/usr/bin/ss", "/usr/bin/ss.away"); // the standby's rsync daemon is never seen listening
                }
            }
        };
        try {
            PgLab.InProcess r = run(new MajorUpgrade(), vars("method", "link"), fault, null);
            assertEquals(2, r.code(), r.out());
            assertTrue(r.out().contains("runs again on port 5432 and takes writes"), r.out());
        } finally {
            db2.docker("mv", "/usr/bin/ss.away", "/usr/bin/ss");
        }
        assertEquals("13", PgLab.serverMajor(db1));
        assertEquals(before, PgLab.fingerprint(db1), "the old cluster's data is unchanged");
        MajorUpgradeIT.waitFor(() -> ("streaming " + db1.address()).equals(PgLab.receiver(db2)));
        assertEquals("13", PgLab.serverMajor(db2), "the standby is a standby of 13 again");
        assertTrue(PgLab.inRecovery(db2));
        assertTrue(db2.docker("pg_lsclusters", "--no-header").matches("(?s)13\\s+main\\s+5432\\s+online,recovery.*"), db2.docker("pg_lsclusters"));
        assertEquals("auto", db2.docker("cat", "/etc/postgresql/13/main/start.conf").strip());
        assertEquals(0, run(new MajorRollback(), vars(), new RunListener() { }, null).code(), "the failed upgrade's traces cleared");
    }

    @Test
    @Order(2)
    void pgUpgradeFailingAfterTheStopLeavesTheOldClusterServing() {
        LabHost db1 = pg.host("db1");
        String before = PgLab.fingerprint(db1);
        String lib = "/usr/lib/postgresql/15/lib/hstore.so";
        RunListener fault = new RunListener() {
            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                if (task.name().startsWith("stop 13") && result instanceof TaskResult.Changed) {
                    db1.docker("mv", lib, lib + ".away"); // the new installation loses a library the database uses
                }
            }
        };
        PgLab.InProcess r = run(new MajorUpgrade(), vars(), fault, null);
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("pg_upgrade failed"), r.out());
        assertTrue(r.out().contains("runs again on port 5432 and takes writes"), r.out());
        assertEquals("13", PgLab.serverMajor(db1));
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(before, PgLab.fingerprint(db1), "the old cluster's data is unchanged");
        PgLab.sql(db1, "app", "INSERT INTO writes (id) VALUES (200001)");
        assertTrue(PgLab.status(db1).contains("state=failed-upgrade"), PgLab.status(db1));
        MajorUpgradeIT.waitFor(() -> ("streaming " + db1.address()).equals(PgLab.receiver(pg.host("db2"))));

        PgLab.InProcess again = run(new MajorUpgrade(), vars(), new RunListener() { }, null);
        assertEquals(2, again.code(), again.out());
        assertTrue(again.out().contains("--resume"), again.out());

        db1.docker("mv", lib + ".away", lib);
        String withRow = PgLab.fingerprint(db1);
        PgLab.InProcess resumed = run(new MajorUpgrade(), vars("resume", "true"), new RunListener() { }, null);
        assertEquals(0, resumed.code(), resumed.out());
        assertTrue(resumed.out().contains("Clusters are compatible"), "pg_upgrade --check runs again: " + resumed.out());
        assertEquals("15", PgLab.serverMajor(db1));
        assertEquals(withRow, PgLab.fingerprint(db1));
        assertEquals("streaming " + db1.address(), PgLab.receiver(pg.host("db2")));
        // back to 13 for the next test (nothing was written on 15)
        assertEquals(0, run(new MajorRollback(), vars(), new RunListener() { }, null).code());
        assertEquals("13", PgLab.serverMajor(db1));
    }

    /** Cancels the run when the restore of database "app" starts: the run stops before the next database. */
    static RunListener interruptAtApp(AtomicReference<Runner> runner) {
        return new RunListener() {
            @Override
            public void progress(Host host, Task task, String line) {
                if (line.equals("database app: pg_restore -j 2") || line.startsWith("database app: pg_restore")) {
                    runner.get().cancel();
                }
            }
        };
    }

    @Test
    @Order(3)
    void dumpInterruptedThenRolledBackThenInterruptedAgainAndResumed() {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        String before = PgLab.fingerprint(db1);
        for (LabHost h : List.of(db1, db2)) {
            // the new major is not installed yet: the playbook installs it (15.20 from the lab's apt repository)
            h.docker("apt-get", "remove", "-y", "-q", "postgresql-15", "postgresql-client-15");
        }
        AtomicReference<Runner> self = new AtomicReference<>();
        // per database (the default on more than 2 cores), so the cut falls between two databases
        PgLab.InProcess cut = run(new MajorDump(), vars("parallel", "true"), interruptAtApp(self), self);
        assertTrue(cut.code() != 0, cut.out());
        assertTrue(cut.out().contains("changed: [db1] => installed postgresql-15"), cut.out());
        assertTrue(cut.out().contains("changed: [db2] => installed postgresql-15"), cut.out());
        String status = PgLab.status(db1);
        assertTrue(status.contains("state=upgrading"), status);
        assertTrue(status.contains("databases-done=postgres,app"), status);
        assertEquals("on", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"), "writes stay blocked while interrupted");
        assertEquals(before, PgLab.fingerprint(db1));

        PgLab.InProcess plain = run(new MajorDump(), vars("parallel", "true"), new RunListener() { }, null);
        assertEquals(2, plain.code(), plain.out());
        assertTrue(plain.out().contains("Continue it with --resume, or go back to 13 with: playbook major-rollback"), plain.out());

        PgLab.InProcess back = run(new MajorRollback(), vars(), new RunListener() { }, null);
        assertEquals(0, back.code(), back.out());
        assertEquals("off", PgLab.sql(db1, "postgres", "SHOW default_transaction_read_only"));
        assertEquals(before, PgLab.fingerprint(db1));
        PgLab.sql(db1, "app", "INSERT INTO writes (id) VALUES (300001)");
        String withRow = PgLab.fingerprint(db1);
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2));

        PgLab.InProcess cutAgain = run(new MajorDump(), vars("parallel", "true"), interruptAtApp(self), self);
        assertTrue(cutAgain.code() != 0, cutAgain.out());
        PgLab.InProcess resumed = run(new MajorDump(), vars("resume", "true", "parallel", "true"), new RunListener() { }, null);
        assertEquals(0, resumed.code(), resumed.out());
        assertTrue(resumed.out().contains("items identical"), resumed.out());
        assertTrue(resumed.out().matches("(?s).*shop: extension hstore\\s+1\\.7\\s+1\\.8\\s+updated to the new default.*"), resumed.out());
        assertEquals("15", PgLab.serverMajor(db1));
        assertEquals(withRow, PgLab.fingerprint(db1));
        assertEquals("15", PgLab.serverMajor(db2));
        assertEquals("streaming " + db1.address(), PgLab.receiver(db2));
    }
}
