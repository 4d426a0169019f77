package dev.pgplay.core.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ManagedBlockTest {
    @Test
    void managedBlockIsInsertedOnceAndReplaced() {
        String text = "local all postgres peer\n";
        String once = ManagedBlock.apply(text, "replication", List.of("host replication r 10.0.0.2/32 scram-sha-256"), true);
        assertEquals("# BEGIN pgplay replication\nhost replication r 10.0.0.2/32 scram-sha-256\n# END pgplay replication\nlocal all postgres peer\n", once);
        assertEquals(once, ManagedBlock.apply(once, "replication", List.of("host replication r 10.0.0.2/32 scram-sha-256"), true));
        String changed = ManagedBlock.apply(once, "replication", List.of("host replication r 10.0.0.3/32 scram-sha-256"), true);
        assertEquals(once.replace("10.0.0.2", "10.0.0.3"), changed);
        assertEquals("a\n# BEGIN pgplay x\nb\n# END pgplay x\n", ManagedBlock.apply("a", "x", List.of("b"), false));
    }

    @Test
    void anAbsentBlockIsTakenOutAndTheRestKept() {
        String text = "local all postgres peer\n";
        String with = ManagedBlock.apply(text, "major-move", List.of("host all pgplay_move 10.0.0.3/32 scram-sha-256"), true);
        assertEquals(text, ManagedBlock.apply(with, "major-move", null, true));
        assertEquals(text, ManagedBlock.apply(text, "major-move", null, true), "nothing to take out: unchanged");
        String two = ManagedBlock.apply(with, "replication", List.of("host replication r 10.0.0.2/32 scram-sha-256"), false);
        assertEquals(ManagedBlock.apply(text, "replication", List.of("host replication r 10.0.0.2/32 scram-sha-256"), false),
                ManagedBlock.apply(two, "major-move", null, true), "another block stays");
    }

    @Test
    void onlyARegularFileWithOneLinkIsEditedAsRoot() {
        assertEquals(null, TextEdit.refusal("/x/pg_hba.conf", "regular file|1|640|postgres:postgres".split("\\|")));
        assertEquals(null, TextEdit.refusal("/x/.pgpass", "regular empty file|1|600|postgres:postgres".split("\\|")));
        String link = TextEdit.refusal("/var/lib/postgresql/.pgpass", "symbolic link|1|777|postgres:postgres".split("\\|"));
        org.junit.jupiter.api.Assertions.assertTrue(link.startsWith("/var/lib/postgresql/.pgpass is a symbolic link, not a regular file"), link);
        String hard = TextEdit.refusal("/x/.pgpass", "regular file|2|600|postgres:postgres".split("\\|"));
        org.junit.jupiter.api.Assertions.assertTrue(hard.contains("has 2 hard links"), hard);
        org.junit.jupiter.api.Assertions.assertTrue(TextEdit.refusal("/x", "directory|3|755|root:root".split("\\|")).contains("is a directory"));
    }
}
