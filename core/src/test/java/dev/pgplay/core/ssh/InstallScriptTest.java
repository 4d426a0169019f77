package dev.pgplay.core.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The script that installs an uploaded file, run with the local perl as the upload runs it on a host. */
class InstallScriptTest {
    @TempDir
    Path dir;

    private int install(Path src, Path dst, String mode) throws Exception {
        String user = System.getProperty("user.name");
        Process p = new ProcessBuilder("perl", "-e", SshConnection.INSTALL, src.toString(), dst.toString(), mode, user, group())
                .redirectErrorStream(true).start();
        p.waitFor(20, TimeUnit.SECONDS);
        System.out.print(new String(p.getInputStream().readAllBytes()));
        return p.exitValue();
    }

    private static String group() throws Exception {
        Process p = new ProcessBuilder("id", "-gn").start();
        p.waitFor(10, TimeUnit.SECONDS);
        return new String(p.getInputStream().readAllBytes()).strip();
    }

    @Test
    void theContentArrivesWithItsModeAndNothingIsLeftBeside() throws Exception {
        Path src = Files.writeString(dir.resolve("src"), "host=a password=secret\n");
        Path dst = dir.resolve(".pgpass");
        assertEquals(0, install(src, dst, "0600"));
        assertEquals("host=a password=secret\n", Files.readString(dst));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dst)));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no staged file left");
        }
    }

    @Test
    void aLinkAtThePathIsReplacedNeverWrittenThrough() throws Exception {
        Path victim = Files.writeString(dir.resolve("shadow"), "root:x:0\n");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r-----"));
        Path dst = Files.createSymbolicLink(dir.resolve(".pgpass"), victim);
        Path src = Files.writeString(dir.resolve("src"), "the new text\n");
        assertEquals(0, install(src, dst, "0600"));
        assertEquals("root:x:0\n", Files.readString(victim), "the link's target is untouched");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(victim)), "its mode too");
        assertFalse(Files.isSymbolicLink(dst));
        assertTrue(Files.isRegularFile(dst, LinkOption.NOFOLLOW_LINKS));
        assertEquals("the new text\n", Files.readString(dst));
    }

    @Test
    void aMissingOwnerFailsAndLeavesThePathAsItWas() throws Exception {
        Path dst = Files.writeString(dir.resolve("conf"), "old\n");
        Path src = Files.writeString(dir.resolve("src"), "new\n");
        Process p = new ProcessBuilder("perl", "-e", SshConnection.INSTALL, src.toString(), dst.toString(), "0644", "no-such-user-pgplay", "root")
                .redirectErrorStream(true).start();
        p.waitFor(20, TimeUnit.SECONDS);
        assertTrue(p.exitValue() != 0);
        assertTrue(new String(p.getInputStream().readAllBytes()).contains("no user no-such-user-pgplay"));
        assertEquals("old\n", Files.readString(dst));
    }

    @Test
    void anOwnerGivenByNumberIsTaken() throws Exception {
        Process id = new ProcessBuilder("sh", "-c", "id -u; id -g").start();
        id.waitFor(10, TimeUnit.SECONDS);
        String[] ids = new String(id.getInputStream().readAllBytes()).strip().split("\n");
        Path src = Files.writeString(dir.resolve("src"), "x\n");
        Path dst = dir.resolve("by-number");
        Process p = new ProcessBuilder("perl", "-e", SshConnection.INSTALL, src.toString(), dst.toString(), "0644", ids[0], ids[1])
                .redirectErrorStream(true).start();
        p.waitFor(20, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
        assertEquals("x\n", Files.readString(dst));
    }
}
