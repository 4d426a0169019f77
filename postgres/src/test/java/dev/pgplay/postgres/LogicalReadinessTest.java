package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogicalReadinessTest {
    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    private static final Map<String, String> READY = Map.of("wal_level", "logical", "max_replication_slots", "10", "max_wal_senders", "10",
            "max_logical_replication_workers", "4", "max_worker_processes", "8");

    @Test
    void rowsOfOneDatabaseBecomeFindingsWithHostileNamesKept() {
        LogicalReadiness.Database d = LogicalReadiness.database("app", List.of(
                List.of("ext", hex("pg_trgm 1.5")), List.of("ext", hex("\"we ird\" 1.0")),
                List.of("full", hex("public.audit")), List.of("lo", "3"),
                List.of("noid", hex("public.\"no\nkey\"")), List.of("seq", "2"), List.of("unlogged", hex("public.cache"))));
        assertEquals(List.of("public.\"no\nkey\""), d.withoutIdentity());
        assertEquals(List.of("public.audit"), d.identityFull());
        assertEquals(List.of("public.cache"), d.unlogged());
        assertEquals(3, d.largeObjects());
        assertEquals(2, d.sequences());
        assertEquals(Map.of("pg_trgm", "1.5", "\"we ird\"", "1.0"), d.extensions());
    }

    @Test
    void refusalsNameWhatAndHowToGoOn() {
        LogicalReadiness.Database d = new LogicalReadiness.Database("app", List.of("public.nokey"), List.of(), List.of("public.cache"), 2, Map.of(), 0);
        LogicalReadiness r = new LogicalReadiness(READY, 1, 1, List.of(d));
        List<String> refused = r.refusals(false, false, false);
        assertEquals(3, refused.size(), refused.toString());
        assertTrue(refused.get(0).contains("public.nokey") && refused.get(0).contains("replica-identity-full=true"), refused.get(0));
        assertTrue(refused.get(1).contains("2 large object(s)") && refused.get(1).contains("copy-large-objects=true"), refused.get(1));
        assertTrue(refused.get(2).contains("public.cache") && refused.get(2).contains("unlogged-tables=empty"), refused.get(2));
        assertEquals(List.of(), r.refusals(true, true, true));
        assertEquals(4, r.tableCopiesAtOnce(), "10 slots and senders, 1 in use, 1 database: 4 copies at most");
        assertEquals(2, new LogicalReadiness(Map.of("max_replication_slots", "10", "max_wal_senders", "5"), 2, 1, List.of(d, d)).tableCopiesAtOnce(),
                "the fewer of free slots and senders, less one per database");
        assertEquals(List.of("app: table public.cache"), r.unloggedRowItems());
        assertEquals(2, r.largeObjects());
        List<String> notes = r.notes(true);
        assertTrue(notes.get(0).contains("public.cache") && notes.get(1).contains("REPLICA IDENTITY FULL"), notes.toString());
    }

    @Test
    void settingsRefusedWithTheRestartTheyNeed() {
        LogicalReadiness.Database a = new LogicalReadiness.Database("a", List.of(), List.of(), List.of(), 0, Map.of(), 0);
        LogicalReadiness.Database b = new LogicalReadiness.Database("b", List.of(), List.of(), List.of(), 0, Map.of(), 0);
        LogicalReadiness r = new LogicalReadiness(Map.of("wal_level", "replica", "max_replication_slots", "2", "max_wal_senders", "10",
                "max_logical_replication_workers", "1", "max_worker_processes", "2"), 1, 0, List.of(a, b));
        List<String> refused = r.refusals(false, false, false);
        assertEquals(4, refused.size(), refused.toString());
        assertTrue(refused.get(0).startsWith("wal_level is replica") && refused.get(0).contains("restart"), refused.get(0));
        assertTrue(refused.get(1).startsWith("max_replication_slots is 2: 1 in use and 3 more needed"), refused.get(1));
        assertEquals(0, r.tableCopiesAtOnce());
        assertTrue(refused.get(2).startsWith("max_logical_replication_workers is 1, the way back needs 2"), refused.get(2));
        assertTrue(refused.get(3).startsWith("max_worker_processes is 2, the way back needs 3"), refused.get(3));
    }
}
