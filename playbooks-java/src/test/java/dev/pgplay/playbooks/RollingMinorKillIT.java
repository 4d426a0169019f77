package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import dev.pgplay.lab.SilentClients;
import dev.pgplay.lab.WritableMonitor;
import dev.pgplay.lab.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The controller is lost (SIGKILL of the playbook JVM) at every task boundary of a switchover and
 * several times inside the stop -> promote window, on systemd hosts whose package scripts start
 * services. Each time a plain re-run must end with one primary holding the VIP, one streaming
 * standby, both nodes on the target version, every acknowledged commit present, and at no moment
 * two writable nodes (an independent monitor polls both every 10 ms).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingMinorKillIT {
    static final String TARGET = "15.20-0+deb12u1";

    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");
    static PgLab pg;
    static final List<String> table = new ArrayList<>();

    /**
     * A cut: the task whose start is awaited, and how long after it the JVM is killed;
     * {@code silent}: from the old primary's stop on, clients connect to it and send nothing.
     */
    record Cut(String task, long delayMillis, boolean silent) {
        Cut(String task, long delayMillis) {
            this(task, delayMillis, false);
        }

        @Override
        public String toString() {
            return task + (delayMillis > 0 ? " +" + delayMillis + " ms" : "") + (silent ? " (silent clients)" : "");
        }
    }

    @BeforeAll
    static void cluster() throws Exception {
        pg = new PgLab(LAB.lab(), null);
        pg.setUpCluster();
    }

    @AfterAll
    static void printTable() {
        System.out.println("cut point | the re-run");
        table.forEach(System.out::println);
    }

    @Test
    @Order(1)
    void cutDuringTheStandbysPackageInstallThenAPlainRerunFinishes() throws Exception {
        cutAndRerun(new Cut("standby: install the new packages", 400), false);
    }

    @Test
    @Order(2)
    void cutAtEveryStepOfASwitchoverThenAPlainRerunConverges() throws Exception {
        List<Cut> cuts = List.of(
                new Cut("discover which node is primary", 0),
                new Cut("primary: journal the switchover", 0),
                new Cut("primary: journal the switchover", 15),
                new Cut("primary: fast shutdown", 0),
                new Cut("primary: fast shutdown", 10),
                new Cut("primary: fast shutdown", 40),
                new Cut("standby: prove it has every byte", 0),
                new Cut("standby: prove it has every byte", 5),
                new Cut("standby: prove it has every byte", 15),
                new Cut("standby: prove it has every byte", 40),
                new Cut("new primary: raise the VIP", 0),
                new Cut("old primary: take the VIP off", 0),
                new Cut("new primary: replication slot for the old primary", 0),
                new Cut("old primary: install the new packages", 0),
                new Cut("old primary: rejoin as a standby", 0),
                new Cut("old primary: rejoin as a standby", 150),
                new Cut("old primary: streaming and caught up", 0),
                new Cut("switchover journal: done", 0),
                new Cut("VIP only on the primary", 0),
                new Cut("report", 0));
        for (Cut cut : cuts) {
            cutAndRerun(cut, true);
        }
    }

    /**
     * Clients that connect to the old primary during its shutdown and send nothing (a stuck health
     * check; a client that gave up mid-handshake when the VIP moved) keep its postmaster until
     * authentication_timeout, and it no longer takes connections from its listen queue. The
     * controller is lost after the promotion, before or as it waits for that postmaster: the re-run
     * must wait for it (ending those children) instead of sending psql into the queue.
     */
    @Test
    @Order(5)
    void cutWhileSilentClientsHoldTheOldPrimarysShutdown() throws Exception {
        cutAndRerun(new Cut("new primary: raise the VIP", 0, true), true);
        cutAndRerun(new Cut("old primary: its shutdown ends", 0, true), true);
    }

    /** A reboot of the old primary right after the promotion: it comes back fenced, as a standby. */
    @Test
    @Order(3)
    void rebootOfTheOldPrimaryRightAfterThePromotion() throws Exception {
        rebootDuring("new primary: raise the VIP", true, 0);
    }

    /** A reboot of the standby while dpkg upgrades it: the re-run finishes dpkg's work, then the upgrade. */
    @Test
    @Order(4)
    void rebootOfTheStandbyDuringItsUpgrade() throws Exception {
        rebootDuring("standby: install the new packages", false, 300);
    }

    void rebootDuring(String task, boolean oldPrimary, long delayMillis) throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost primary = PgLab.inRecovery(db1) ? db2 : db1;
        LabHost standby = primary == db1 ? db2 : db1;
        LabHost victim = oldPrimary ? primary : standby;
        if (!oldPrimary) {
            PgLab.downgrade(standby); // the standby needs its minor upgrade again
        }
        PgLab.sql(primary, "app", "TRUNCATE writes");
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        Thread reboot = null;
        PgLab.Run rerun;
        try {
            Thread.sleep(300);
            Path dir = LAB.lab().dir().resolve("reboots");
            try (Controller c = Controller.start(dir, "rolling-minor", pg.inventory, "-e", "switchover=" + oldPrimary)) {
                assertTrue(c.awaitTaskStart(task, 120_000), "the run never reached " + task + ":\n" + c.output());
                Thread.sleep(delayMillis);
                reboot = new Thread(victim::reboot);
                reboot.start();
                while (c.alive()) {
                    Thread.sleep(100);
                }
                System.out.println("---- the run during the reboot of " + victim.name() + ":\n" + c.output());
            }
            reboot.join(120_000);
            rerun = pg.playbook("rolling-minor");
            Thread.sleep(500);
        } finally {
            writer.close();
            monitor.close();
        }
        assertEquals(0, rerun.code(), "the re-run after the reboot failed:\n" + rerun.out() + diagnose());
        LabHost p = pg.assertHealthyPair(writer, monitor, TARGET, "reboot of " + victim.name());
        table.add(String.format("%-60s | %s acked, primary %s, longest write gap %d ms", "reboot of " + victim.name() + " at " + task,
                writer.acknowledged().size(), p.name(), writer.longestGapMillis()));
    }

    /** What the hosts say, for a failure message: clusters, dpkg, pgplay's unit logs and journal. */
    static String diagnose() {
        StringBuilder b = new StringBuilder();
        for (LabHost h : LAB.lab().hosts()) {
            b.append("\n==== ").append(h.name()).append('\n').append(h.dockerResult("sh", "-c", "pg_lsclusters; dpkg -l 'postgresql-15' | tail -1; "
                    + "tail -n 20 /var/log/pgplay/*.log; cat /var/lib/pgplay/switchover-*.journal; tail -n 15 /var/log/postgresql/postgresql-15-main.log")
                    .getStdout());
        }
        return b.toString();
    }

    void cutAndRerun(Cut cut, boolean switchover) throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost primary = PgLab.inRecovery(db1) ? db2 : db1;
        PgLab.sql(primary, "app", "TRUNCATE writes");
        Writer writer = new Writer(pg.jdbc(pg.vip, "app"), 1_000_000).start();
        WritableMonitor monitor = new WritableMonitor(pg.jdbc(db1.address(), "app"), pg.jdbc(db2.address(), "app")).start();
        PgLab.Run rerun;
        boolean killed;
        String held = "";
        long seconds;
        try (SilentClients silent = new SilentClients(primary.address(), 5432, 10, 150)) {
            Thread.sleep(300);
            Path dir = LAB.lab().dir().resolve("kills");
            try (Controller c = switchover ? Controller.start(dir, "rolling-minor", pg.inventory, "-e", "switchover=true")
                    : Controller.start(dir, "rolling-minor", pg.inventory)) {
                if (cut.silent()) {
                    assertTrue(c.awaitTaskStart("primary: fast shutdown", 120_000), "the run never reached the stop:\n" + c.output());
                    silent.start();
                }
                killed = c.awaitTaskStart(cut.task(), 120_000);
                silent.stopOpening();
                if (killed) {
                    Thread.sleep(cut.delayMillis());
                    c.kill();
                }
                System.out.println("---- first run, " + (killed ? "killed at " + cut : "ended before " + cut)
                        + (cut.silent() ? ", " + silent.count() + " silent connections held" : "") + ":\n" + c.output());
            }
            if (cut.silent()) {
                held = primary.dockerResult("sh", "-c", "sed -n 8p /var/lib/postgresql/15/main/postmaster.pid 2>/dev/null").getStdout().strip();
            }
            long t0 = System.nanoTime();
            rerun = pg.playbook("rolling-minor");
            seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            Thread.sleep(500);
        } finally {
            writer.close();
            monitor.close();
        }
        assertTrue(killed, "the run never reached " + cut);
        assertEquals(0, rerun.code(), cut + ": the re-run failed:\n" + rerun.out() + diagnose());
        // silent clients keep a stopping postmaster until authentication_timeout (60 s) unless the re-run ends them
        assertTrue(!cut.silent() || seconds < 50, cut + ": the re-run took " + seconds + " s: it sat out authentication_timeout");
        LabHost p = pg.assertHealthyPair(writer, monitor, TARGET, cut.toString());
        String what = rerun.out().lines().filter(l -> !l.startsWith("TASK") && (l.contains("discover which node is primary") || l.contains("a switchover cut")))
                .findFirst().orElse("");
        String resolved = rerun.out().lines().filter(l -> l.contains("switchover ") && l.contains(" -> ") && l.startsWith("ok: "))
                .findFirst().orElse("nothing to finish or undo");
        table.add(String.format("%-60s | %s acked, primary %s, longest write gap %d ms | %s", cut, writer.acknowledged().size(),
                p.name(), writer.longestGapMillis(), resolved.length() > 200 ? resolved.substring(0, 200) : resolved));
        System.out.println(what + (cut.silent() ? "; the old primary's postmaster.pid said " + (held.isEmpty() ? "nothing (it had exited)" : held)
                + " at the re-run's start, which took " + seconds + " s" : ""));
    }
}
