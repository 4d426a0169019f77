package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Declared playbook options: checked before any host is contacted (the inventory's hosts do not exist). */
class OptionsTest {
    @TempDir
    Path dir;

    private static CliRun cli(String... args) {
        return CliRun.of(args);
    }

    /** An inventory whose hosts cannot be reached (TEST-NET-1, port 9): a run that contacted them would fail differently. */
    private Path inventory(String vars) throws Exception {
        Path f = dir.resolve("hosts.conf");
        Files.writeString(f, "defaults { port = 9, connect-timeout = 1s }\n"
                + "hosts {\n  db1 { address = 192.0.2.1 }\n  db2 { address = 192.0.2.2 }\n}\n"
                + "roles { primary = db1, standby = [db2] }\n"
                + "vars {\n  replication-password = secret\n" + vars + "}\n");
        return f;
    }

    @Test
    void unknownKeyIsRefusedWithASuggestion() throws Exception {
        CliRun r = cli("rolling-minor", inventory("").toString(), "-e", "swichback=true");
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("-e swichback: rolling-minor has no such option; did you mean switchback?"), r.err());
        assertTrue(r.err().contains("nothing was run"), r.err());
        assertEquals("", r.out(), "nothing may run");
    }

    @Test
    void booleansAcceptYesNoAndRefuseOtherWords() throws Exception {
        assertEquals("true", dev.pgplay.core.run.Options.validate(new RollingMinor(),
                java.util.Map.of("switchback", "yes"), null).get("switchback"));
        assertEquals("false", dev.pgplay.core.run.Options.validate(new RollingMinor(),
                java.util.Map.of("switchback", "Off"), null).get("switchback"));
        CliRun r = cli("rolling-minor", inventory("").toString(), "-e", "switchback=maybe");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("-e switchback: must be true or false (or yes/no, on/off, 1/0), got 'maybe'"), r.err());
    }

    @Test
    void valuesReadLateAreCheckedFirstWithTheirOrigin() throws Exception {
        CliRun r = cli("rolling-minor", inventory("").toString(), "-e", "proof-timeout-seconds=soon", "-e", "rejoin-method=magic");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("-e proof-timeout-seconds: must be a whole number from 1 to 3600, got 'soon'"), r.err());
        assertTrue(r.err().contains("-e rejoin-method: must be one of auto, direct, pg_rewind, pg_basebackup, got 'magic'"), r.err());
        CliRun inInventory = cli("rolling-minor", inventory("  rejoin-method = rsync\n").toString());
        assertEquals(1, inInventory.code());
        assertTrue(inInventory.err().contains("hosts.conf:9: vars.rejoin-method must be one of auto, direct, pg_rewind, pg_basebackup, got 'rsync'"),
                inInventory.err());
    }

    @Test
    void helpOfAPlaybookListsItsOptions() {
        CliRun r = cli("rolling-minor", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: playbook"), r.out());
        assertTrue(r.out().contains("-e switchback=true|false"), r.out());
        assertTrue(r.out().contains("-e rejoin-method=auto|direct|pg_rewind|pg_basebackup"), r.out());
        assertTrue(r.out().contains("(default: 15)"), r.out());
        CliRun major = cli("major-upgrade", "--help");
        assertTrue(major.out().contains("-e method=copy|link|clone"), major.out());
    }

    @Test
    void resumeOnlyWhereThereIsSomethingToResume() throws Exception {
        CliRun r = cli("rolling-minor", inventory("").toString(), "--resume");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--resume: rolling-minor has nothing to resume"), r.err());
    }
}
