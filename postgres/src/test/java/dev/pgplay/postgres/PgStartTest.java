package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Pg#START_UNIT} run by the local sh with a stand-in {@code systemctl} on the PATH: it
 * returns as soon as postmaster.pid says ready, without waiting for the unit's start job, and
 * fails with systemctl's words when the job fails first. (On lab hosts every IT that starts a
 * cluster runs it against the real unit.)
 */
class PgStartTest {
    @TempDir
    Path dir;

    private record Run(int exit, String err, long millis) {
    }

    private Run start(String systemctl) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fake = bin.resolve("systemctl");
        Files.writeString(fake, "#!/bin/sh\n" + systemctl);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", Pg.START_UNIT, "sh", "postgresql@15-main.service", dir.resolve("data").toString());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        long t0 = System.nanoTime();
        Process p = pb.start();
        p.getOutputStream().close();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        return new Run(exit, err, (System.nanoTime() - t0) / 1_000_000);
    }

    @Test
    void returnsOnceThePidFileSaysReadyWhileTheUnitIsStillStarting() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        // the "server" is this test's own sh: alive; pg_ctlcluster's probe keeps the job busy for 5 s
        String pidFile = dir.resolve("data/postmaster.pid").toString();
        Run r = start("printf '%s\\n' $$ d 0 5432 /run/postgresql '*' '1 2' 'ready   ' > '" + pidFile + "'; sleep 5\n");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.millis() < 4000, "returned after " + r.millis() + " ms, not when the server was ready");
    }

    @Test
    void aFailedStartJobFailsWithSystemctlsWords() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Run r = start("echo 'Job for postgresql@15-main.service failed' >&2; exit 1\n");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("Job for postgresql@15-main.service failed"), r.err());
    }

    @Test
    void aPidFileLeftByADeadServerIsNotTakenForReady() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/postmaster.pid"), "999999999\nd\n0\n5432\n/run\n*\n1 2\nready   \n");
        Run r = start("sleep 0.3; echo 'Job for postgresql@15-main.service failed' >&2; exit 1\n");
        assertEquals(1, r.exit(), "a stale pid file passed for a running server");
    }
}
