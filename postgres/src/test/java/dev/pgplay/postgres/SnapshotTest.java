package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SnapshotTest {
    static Snapshot of(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return new Snapshot(m);
    }

    static List<String> verdicts(Snapshot a, Snapshot b) {
        return Snapshot.compare(a, b).stream().map(r -> r.item() + ": " + r.verdict()).toList();
    }

    @Test
    void rowsChecksumsAndMissingObjectsAreDifferences() {
        Snapshot before = of("app: table public.t", "10 rows, checksum aaa", "app: sequence public.s", "42 true", "role bob", "login");
        Snapshot after = of("app: table public.t", "10 rows, checksum aab", "app: sequence public.s", "42 true", "role carol", "login");
        assertEquals(List.of("app: table public.t: DIFFERENT", "app: sequence public.s: same", "role bob: MISSING in the new cluster",
                "role carol: EXTRA in the new cluster"), verdicts(before, after));
        assertEquals(List.of(false, true, false, false), Snapshot.compare(before, after).stream().map(Snapshot.Row::ok).toList());
        assertTrue(Snapshot.compare(before, before).stream().allMatch(Snapshot.Row::ok));
    }

    @Test
    void anExtensionMayOnlyMoveToTheNewDefault() {
        assertEquals(List.of("db: extension hstore: updated to the new default"),
                verdicts(of("db: extension hstore", "1.7 1.7"), of("db: extension hstore", "1.8 1.8")));
        assertEquals(List.of("db: extension hstore: DIFFERENT"),
                verdicts(of("db: extension hstore", "1.7 1.7"), of("db: extension hstore", "1.6 1.8")));
        assertEquals(List.of("db: extension hstore: same (1.8 available: ALTER EXTENSION ... UPDATE)"),
                verdicts(of("db: extension hstore", "1.7 1.7"), of("db: extension hstore", "1.7 1.8")));
    }

    @Test
    void theSavedFormReadsBackTheSame() {
        Snapshot s = of("app: table public.t", "10 rows, checksum aaa", "role x", "");
        assertEquals(s.items(), Snapshot.parse(s.text()).items());
    }
}
