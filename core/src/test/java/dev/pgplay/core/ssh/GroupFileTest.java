package dev.pgplay.core.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process group a timeout ends is read only from a file of the run's own user (run with the local sh). */
class GroupFileTest {
    @TempDir
    Path dir;

    /** What the script reads from {@code file}: the group id, or "" when it refuses. */
    private static String read(Path file) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", SshConnection.groupFromFile() + "echo \"$g\"", "sh", file.toString()).redirectErrorStream(true).start();
        p.waitFor(10, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue());
        return new String(p.getInputStream().readAllBytes()).strip();
    }

    @Test
    void aNumberAboveOneInAFileOfItsOwnIsTheGroup() throws Exception {
        Path f = Files.writeString(dir.resolve("g.pgid"), "12345\n");
        assertEquals("12345", read(f));
    }

    @Test
    void aPlantedOneOrWordOrLinkOrMissingFileEndsNothing() throws Exception {
        assertEquals("", read(Files.writeString(dir.resolve("one.pgid"), "1\n")), "kill -TERM -1 would signal every process");
        assertEquals("", read(Files.writeString(dir.resolve("zero.pgid"), "0\n")));
        assertEquals("", read(Files.writeString(dir.resolve("word.pgid"), "-1 ; reboot\n")));
        Path target = Files.writeString(dir.resolve("target"), "12345\n");
        assertEquals("", read(Files.createSymbolicLink(dir.resolve("link.pgid"), target)), "a link is not followed");
        assertEquals("", read(dir.resolve("missing.pgid")));
    }

    @Test
    void aFileOfAnotherUserEndsNothing() throws Exception {
        Path f = Files.writeString(dir.resolve("theirs.pgid"), "12345\n");
        Process chown = new ProcessBuilder("chown", "nobody", f.toString()).start();
        chown.waitFor(10, TimeUnit.SECONDS);
        org.junit.jupiter.api.Assumptions.assumeTrue(chown.exitValue() == 0, "needs root to give the file away (CI runs as root)");
        assertEquals("", read(f));
    }
}
