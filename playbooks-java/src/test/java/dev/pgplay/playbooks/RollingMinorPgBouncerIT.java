package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Debian's PgBouncer on a third lab host in front of the pair (switch = [vip, pgbouncer]): a
 * writer connected through it sees no failed transaction and loses no commit while rolling-minor
 * switches over; a PAUSE that cannot complete calls the switchover off before anything stops; a
 * controller killed while PgBouncer is paused leaves a timer that resumes it, and a plain re-run
 * points it at the primary; with PgBouncer's default session pooling a client holding a session
 * reconnects once and loses nothing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorPgBouncerIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2", "pgb");
    static PgLab pg;

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), "groups { pgbouncer { hosts = [pgb] } }\nvars { switch = [vip, pgbouncer] }");
        pg.setUpCluster();
        PgLab.pgbouncer(pg.host("pgb"), pg.host("db1"));
    }

    static String throughBouncer() {
        // transaction pooling: no server-side prepared statements; a query may wait out a pause
        return "jdbc:postgresql://" + pg.host("pgb").address() + ":6432/app?prepareThreshold=0&connectTimeout=2&socketTimeout=30&loginTimeout=5";
    }

    @Test
    @Order(1)
    void aWriterThroughPgBouncerSeesNoErrorAndLosesNothing() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost pgb = pg.host("pgb");
        assertEquals(db1.address() + " 0", PgLab.pgbouncerApp(pgb));
        PgLab.Run r;
        Writer writer = new Writer(throughBouncer(), 1_000_000).start();
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
        assertFalse(PgLab.inRecovery(db2));
        assertEquals(db2.address() + " 0", PgLab.pgbouncerApp(pgb), "PgBouncer leads to the new primary and is not paused");
        assertTrue(pgb.docker("cat", "/etc/pgbouncer/pgbouncer.ini").contains("app = host=" + db2.address() + " port=5432 dbname=app"));
        assertTrue(r.out().matches("(?s).*PgBouncer paused \\(pgb: app\\): client queries wait.*pgb: app -> " + java.util.regex.Pattern.quote(db2.address())
                + ", RELOAD; RESUME app; paused \\d+ ms.*"), r.out());
        assertEquals(0, writer.failures(), "a client transaction through PgBouncer failed");
        List<Long> acked = writer.acknowledged();
        assertTrue(acked.size() > 100, "the writer wrote too little: " + acked.size());
        RollingMinorIT.assertAllPresent(acked, db2);
        assertEquals(0, monitor.bothWritable());
        assertEquals("inactive", pgb.docker("sh", "-c", "systemctl is-active " + PgBouncer.TIMER + ".timer || true").strip(), "the timer was disarmed");
        assertEquals("", pgb.docker("sh", "-c", "ls /etc/pgbouncer/*.pgplay-next 2>/dev/null || true").strip(), "the prepared file was swapped in");
        System.out.printf("rolling-minor through PgBouncer: %d commits acknowledged, %d failed, longest commit gap %d ms%n",
                acked.size(), writer.failures(), writer.longestGapMillis());
    }

    @Test
    @Order(2)
    void aPauseThatCannotCompleteCallsTheSwitchoverOffBeforeAnythingStops() throws Exception {
        LabHost db2 = pg.host("db2");
        LabHost pgb = pg.host("pgb");
        PgLab.Run r;
        // a transaction left open through PgBouncer holds its server connection: PAUSE waits for it
        try (Connection c = DriverManager.getConnection(throughBouncer(), "app", "app-pw")) {
            c.setAutoCommit(false);
            c.createStatement().execute("INSERT INTO writes (id) VALUES (-1)");
            r = pg.playbook("rolling-minor", "-e", "switchover=true", "-e", "pgbouncer-pause-timeout-seconds=2");
            c.rollback();
        }
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("PgBouncer on pgb did not pause within 2 s"), r.out());
        assertFalse(PgLab.inRecovery(db2), "nothing was stopped: db2 is still the primary");
        assertEquals(db2.address() + " 0", PgLab.pgbouncerApp(pgb), "resumed");
        PgLab.Run again = pg.playbook("rolling-minor");
        assertEquals(0, again.code(), again.out());
        assertTrue(again.out().contains("switchovers: none"), again.out());
    }

    @Test
    @Order(3)
    void aControllerKilledWhilePgBouncerIsPausedLeavesATimerThatResumesItAndAReRunThatFinishes() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost pgb = pg.host("pgb");
        try (Controller c = Controller.start(LAB.lab().dir().resolve("kills"), "rolling-minor", pg.inventory,
                "-e", "switchover=true", "-e", "pgbouncer-resume-after-seconds=5")) {
            assertTrue(c.awaitTaskStart("primary: fast shutdown", 300_000), "never reached the stop:\n" + c.output());
            c.kill();
            System.out.println("---- killed as the primary was stopped, PgBouncer paused:\n" + c.output());
        }
        String state = "";
        for (int i = 0; i < 100 && !state.endsWith(" 0"); i++) {
            Thread.sleep(200);
            state = PgLab.pgbouncerApp(pgb);
        }
        assertTrue(state.endsWith(" 0"), "the timer resumed PgBouncer: " + state);
        PgLab.Run r = pg.playbook("rolling-minor");
        assertEquals(0, r.code(), r.out());
        String primary = PgLab.inRecovery(db1) ? db2.address() : db1.address();
        assertEquals(primary + " 0", PgLab.pgbouncerApp(pgb), "PgBouncer leads to the primary after the re-run");
        try (Connection c = DriverManager.getConnection(throughBouncer(), "app", "app-pw")) {
            c.createStatement().execute("INSERT INTO writes (id) VALUES (-2)");
        }
    }

    @Test
    @Order(4)
    void withPgBouncersDefaultSessionPoolingTheSwitchoverEndsEachSessionOnceAndLosesNothing() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost pgb = pg.host("pgb");
        LabHost primary = PgLab.inRecovery(db1) ? db2 : db1;
        LabHost standby = primary == db1 ? db2 : db1;
        // PgBouncer as installed: no pool_mode in its file, so session pooling; the writer holds one session through it
        dev.pgplay.lab.LabPgBouncer.start(pgb, primary.address(), null);
        assertEquals(primary.address() + " 0", PgLab.pgbouncerApp(pgb));
        PgLab.Run r;
        Writer writer = new Writer(throughBouncer(), 1_000_000, 7_000_000_000L).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        try {
            Thread.sleep(1000);
            r = pg.playbook("rolling-minor", "-e", "switchover=true");
            Thread.sleep(1000);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, r.code(), r.out());
        assertTrue(PgLab.inRecovery(primary), "switched over: " + primary.name() + " is a standby now");
        assertEquals(standby.address() + " 0", PgLab.pgbouncerApp(pgb), "PgBouncer leads to the new primary and is not paused");
        assertTrue(r.out().contains("app in session pooling: sessions ended (KILL), new ones wait"), r.out());
        assertTrue(r.out().contains("in session pooling the sessions were ended and their clients reconnected once"), r.out());
        assertTrue(writer.failures() >= 1 && writer.failures() <= 10, "the held session ends once, then the client reconnects: "
                + writer.failures() + " failed attempt(s)");
        List<Long> acked = writer.acknowledged();
        assertTrue(acked.size() > 100, "the writer wrote too little: " + acked.size());
        RollingMinorIT.assertAllPresent(acked, standby);
        assertEquals(0, monitor.bothWritable());
        System.out.printf("rolling-minor through PgBouncer in session pooling: %d commits acknowledged, %d failed attempts, longest commit gap %d ms%n",
                acked.size(), writer.failures(), writer.longestGapMillis());
    }
}
