package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MajorSettingsTest {
    @TempDir
    Path dir;

    Inventory inventory(String vars) {
        return Inventory.parse("""
                hosts { db1 { address = 10.0.0.1 } }
                roles { primary = db1 }
                vars { replication-password = "x", pg-version = "13" %s }
                """.formatted(vars), "hosts.conf", dir);
    }

    static Map<String, Object> extra(String... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    String error(String vars, Map<String, Object> extra, boolean dump) {
        return assertThrows(IllegalArgumentException.class, () -> MajorSettings.of(inventory(vars), extra, dump)).getMessage();
    }

    @Test
    void badInputIsNamedBeforeAnythingRuns() {
        assertEquals("hosts.conf: new-version is not set (the major to upgrade to, e.g. -e new-version=15)", error("", extra(), false));
        assertEquals("hosts.conf: new-version 13 is not newer than pg-version 13", error("", extra("new-version", "13"), false));
        assertEquals("hosts.conf: new-version must be a major version like 15, got '15.2'", error("", extra("new-version", "15.2"), false));
        assertEquals("hosts.conf: method must be link, copy or clone, got 'move'", error("", extra("new-version", "15", "method", "move"), false));
        assertEquals("hosts.conf: jobs must be a number from 1 to 999 or auto, got '0'", error("", extra("new-version", "15", "jobs", "0"), false));
        assertEquals("hosts.conf: parallel must be auto, true or false, got 'yes'", error(", parallel = yes", extra("new-version", "15"), true));
        assertEquals("hosts.conf: verify must be full or catalog, got 'some'", error("", extra("new-version", "15", "verify", "some"), false));
        assertEquals("hosts.conf: standby-rebuild must be auto or pg_basebackup, got 'rsync'",
                error("", extra("new-version", "15", "standby-rebuild", "rsync"), false));
    }

    @Test
    void theWindowReadsTheCatalogForPgUpgradeAndEveryRowForADump() {
        assertEquals("catalog and file numbers", MajorSettings.of(inventory(""), extra("new-version", "15", "method", "link"), false).depth().text());
        assertEquals("catalog, file numbers and a sample of rows", MajorSettings.of(inventory(""), extra("new-version", "15"), false).depth().text());
        assertEquals("catalog", MajorSettings.of(inventory(""), extra("new-version", "14", "method", "link"), false).depth().text(),
                "before 15 pg_upgrade does not keep file numbers");
        assertEquals("every row", MajorSettings.of(inventory(""), extra("new-version", "15"), true).depth().text());
        assertEquals("catalog", MajorSettings.of(inventory(""), extra("new-version", "15", "verify", "catalog"), true).depth().text());
        MajorSettings full = MajorSettings.of(inventory(", verify = full"), extra("new-version", "15", "method", "link"), false);
        assertTrue(full.depth().rows() && full.depth().fileNumbers());
        assertTrue(full.rsync(), "link mode rebuilds standbys by rsync where it is safe");
        assertFalse(MajorSettings.of(inventory(""), extra("new-version", "15"), false).rsync(), "only link mode");
        assertFalse(MajorSettings.of(inventory(""), extra("new-version", "15", "method", "link", "standby-rebuild", "pg_basebackup"), false).rsync());
    }

    @Test
    void defaultsAndASingleServer() {
        MajorSettings m = MajorSettings.of(inventory(", new-version = \"15\""), extra(), false);
        assertEquals("copy", m.method());
        assertEquals(0, m.jobs(), "0: as many as the host has cores");
        assertTrue(m.old().standbys().isEmpty());
        assertEquals("13/main -> 15/main", m.title());
        MajorSettings d = MajorSettings.of(inventory(""), extra("new-version", "15", "parallel", "false", "resume", "true"), true);
        assertEquals("dump", d.method());
        assertEquals("pg_dumpall | psql, one stream", d.methodText());
        assertTrue(d.resume());
    }
}
