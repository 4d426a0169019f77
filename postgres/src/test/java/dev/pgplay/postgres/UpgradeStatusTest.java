package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The status file: typed states, steps and keys over the same readable key=value lines as before. */
class UpgradeStatusTest {
    /** A status file as an earlier version wrote it on a host, in the middle of a dump upgrade. */
    static final String WRITTEN_BEFORE = """
            # pgplay major upgrade status; read by major-upgrade --resume, major-rollback, major-cleanup
            old-version=13
            new-version=15
            method=dump
            port=5432
            old-data=/var/lib/postgresql/13/main
            new-created=true
            side-port=5433
            steps=config,writes-blocked,snapshot,globals,copy-started
            state=upgrading
            databases-done=postgres,my+db%2Cx
            updated=2026-12-01T01:00:00Z
            """;

    @Test
    void aFileWrittenBeforeReadsTyped() {
        UpgradeStatus s = UpgradeStatus.parse("main", WRITTEN_BEFORE);
        assertEquals(State.UPGRADING, s.state());
        assertTrue(s.done(Step.WRITES_BLOCKED));
        assertTrue(s.done(Step.COPY_STARTED));
        assertFalse(s.done(Step.COPIED));
        assertEquals(5433, s.number(Key.SIDE_PORT));
        assertTrue(s.flag(Key.NEW_CREATED));
        assertEquals(List.of("postgres", "my db,x"), s.list(Key.DATABASES_DONE));
        assertEquals("upgrading (13 -> 15, dump, last step done: copy-started)", s.summary());
    }

    @Test
    void writtenAndReadBackTheSameAndUndoForgetsStepsAndDatabases() {
        UpgradeStatus s = UpgradeStatus.fresh("main").put(Key.OLD_VERSION, 13).put(Key.NEW_VERSION, 15).put(Key.METHOD, "link")
                .state(State.FAILED_UPGRADE).add(Key.DATABASES_DONE, "a,b").mark(Step.PG_UPGRADE);
        String text = s.text();
        assertTrue(text.contains("\nstate=failed-upgrade\n"), text);
        assertTrue(text.contains("\nsteps=pg_upgrade\n"), text);
        UpgradeStatus back = UpgradeStatus.parse("main", text);
        assertEquals(State.FAILED_UPGRADE, back.state());
        assertTrue(back.done(Step.PG_UPGRADE));
        assertEquals(List.of("a,b"), back.list(Key.DATABASES_DONE));
        back.undo(List.of(Step.PG_UPGRADE)).put(Key.METHOD, null);
        assertFalse(back.done(Step.PG_UPGRADE));
        assertTrue(back.list(Key.DATABASES_DONE).isEmpty());
        assertFalse(back.text().contains("method="));
        assertEquals(State.NONE, UpgradeStatus.parse("main", "").state());
    }

    @Test
    void anUnknownStateIsRefusedNotGuessed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> UpgradeStatus.parse("main", "state=half-done\n").state());
        assertEquals("unknown upgrade state 'half-done' in the status file", e.getMessage());
    }
}
