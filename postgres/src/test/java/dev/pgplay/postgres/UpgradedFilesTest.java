package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk check's script, run by the local sh on directories laid out like two clusters. */
class UpgradedFilesTest {
    @TempDir
    Path dir;

    private List<String> check(String mode, String paths) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", UpgradedFiles.CHECK, "sh", dir.resolve("old").toString(), dir.resolve("new").toString(), mode, "13")
                .redirectErrorStream(true).start();
        p.getOutputStream().write(paths.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out.lines().toList();
    }

    private void file(String path, int bytes) throws Exception {
        Path f = dir.resolve(path);
        Files.createDirectories(f.getParent());
        Files.write(f, new byte[bytes]);
    }

    private void link(String oldPath, String newPath) throws Exception {
        Path n = dir.resolve(newPath);
        Files.createDirectories(n.getParent());
        Files.createLink(n, dir.resolve(oldPath));
    }

    @Test
    void linkModeWantsTheOldInodeForEverySegmentAndFindsTheOldTablespaceDirectory() throws Exception {
        file("old/base/5/100", 16);
        file("old/base/5/100.1", 8);
        link("old/base/5/100", "new/base/5/100");
        link("old/base/5/100.1", "new/base/5/100.1");
        file("old/pg_tblspc/7/PG_13_202007201/5/200", 8);
        link("old/pg_tblspc/7/PG_13_202007201/5/200", "new/pg_tblspc/7/PG_15_202209061/5/200");
        assertEquals(List.of("checked 2"), check("link", "base/5/100\npg_tblspc/7/PG_15_202209061/5/200\n"));

        file("new/base/5/100.2", 8); // a segment the old cluster never had
        file("old/base/5/300", 8);
        file("new/base/5/300", 8); // a copy where a link was expected
        List<String> out = check("link", "base/5/100\nbase/5/300\nbase/5/400\n");
        assertTrue(out.contains("base/5/100: base/5/100.2 has no old file"), out.toString());
        assertTrue(out.contains("base/5/300: base/5/300 is not linked to the old file"), out.toString());
        assertTrue(out.contains("base/5/400: no file in the new cluster"), out.toString());
        assertEquals("checked 3", out.get(out.size() - 1));
    }

    @Test
    void copyModeWantsTheSameLength() throws Exception {
        file("old/base/5/100", 16);
        file("new/base/5/100", 16);
        file("old/base/5/101", 16);
        file("new/base/5/101", 8);
        List<String> out = check("copy", "base/5/100\nbase/5/101\n");
        assertEquals(List.of("base/5/101: base/5/101 is 8 bytes, the old one 16", "checked 2"), out);
        assertFalse(UpgradedFiles.PATH.matcher("base/5/../../etc/passwd").matches());
        assertTrue(UpgradedFiles.PATH.matcher("pg_tblspc/16390/PG_15_202209061/16384/16400").matches());
    }
}
