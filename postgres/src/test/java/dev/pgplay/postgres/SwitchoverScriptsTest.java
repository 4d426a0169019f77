package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The perl of the switchover's critical path, run by the local perl: {@link KeptJournal#SCRIPT}
 * appends only whole requests and answers each, {@link Pg#AWAIT_EXIT} ends only the children of a
 * stopping postmaster that still bear its command line, and {@link StandbySql#proven}. (On lab
 * hosts, every rolling-minor IT runs them against PostgreSQL.)
 */
class SwitchoverScriptsTest {
    @TempDir
    Path dir;

    @Test
    void theKeptJournalAppendsEachRequestAndAnswersIt() throws Exception {
        Path journal = dir.resolve("journal");
        Files.writeString(journal, "state=started\n");
        Process p = new ProcessBuilder("perl", "-e", KeptJournal.SCRIPT, journal.toString()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Writer in = new java.io.OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
        in.write("\n"); // the opening request writes nothing
        in.flush();
        assertEquals("__pgplay_appended__", out.readLine());
        assertEquals("state=started\n", Files.readString(journal));
        in.write("checkpoint=0/3000028\nstate=promoting\n\n");
        in.flush();
        assertEquals("__pgplay_appended__", out.readLine());
        assertEquals("state=started\ncheckpoint=0/3000028\nstate=promoting\n", Files.readString(journal));
        in.write("state=half"); // a request cut before its end is not written
        in.close();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals("state=started\ncheckpoint=0/3000028\nstate=promoting\n", Files.readString(journal));
    }

    /** A stand-in postmaster: a perl that forks one child (same command line) and exits when the child does. */
    private Process postmaster(String status) throws Exception {
        Process pm = new ProcessBuilder("perl", "-e", "my $c = fork; if ($c) { waitpid($c, 0); exit 0 } sleep 120; exit 0", "stand-in").start();
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/postmaster.pid"), String.join("\n", List.of(String.valueOf(pm.pid()), dir.resolve("data").toString(),
                "0", "5432", "/run/postgresql", "*", "1 2", status)) + "\n");
        Thread.sleep(300); // the child is forked
        return pm;
    }

    private long awaitExit(int steps) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("perl", "-e", Pg.AWAIT_EXIT, dir.resolve("data").toString(), String.valueOf(steps)).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void aStoppingPostmasterHeldByAChildStillReadingAStartupPacketEndsAfterTwoSeconds() throws Exception {
        Process pm = postmaster("stopping");
        try {
            long ms = awaitExit(1500); // 30 s at most; the child alone would hold it for 120 s
            assertTrue(ms >= 1500 && ms < 10_000, "took " + ms + " ms");
            assertTrue(pm.waitFor(5, TimeUnit.SECONDS), "the stand-in postmaster ended once its child was ended");
        } finally {
            pm.destroyForcibly();
        }
    }

    @Test
    void aRunningServerIsLeftAlone() throws Exception {
        Process pm = postmaster("ready   ");
        try {
            long ms = awaitExit(1500);
            assertTrue(ms < 1500, "took " + ms + " ms");
            assertFalse(pm.waitFor(3, TimeUnit.SECONDS), "a running server's children are not touched");
        } finally {
            pm.destroyForcibly();
        }
    }

    @Test
    void theProofNeedsTheCheckpointReceivedAndReplayCloseBehind() {
        long cp = Psql.lsn("0/3000028");
        assertTrue(StandbySql.proven(List.of("0/30000A0", "0/30000A0"), cp));
        assertTrue(StandbySql.proven(List.of("0/30000A0", "0/3000000"), cp), "replay a few bytes behind: the promotion replays them");
        assertFalse(StandbySql.proven(List.of("0/3000028", "0/3000028"), cp), "the checkpoint record itself not received");
        assertFalse(StandbySql.proven(List.of("0/30000A0", "0/2000000"), cp), "replay 16 MB behind: not a promotion to start now");
        assertFalse(StandbySql.proven(List.of("0/0", "0/0"), cp));
    }
}
