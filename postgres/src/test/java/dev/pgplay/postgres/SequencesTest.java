package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class SequencesTest {
    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void positionsReadAsTheyAreAndSetExactlyInOneTransaction() {
        List<Sequences.Position> p = Sequences.parse(List.of(
                List.of(hex("public.orders_id_seq"), "true", "1042"),
                List.of(hex("\"odd'schema\".\"seq\nx\""), "false", "1"),
                List.of(hex("public.down"), "true", "-77")));
        assertEquals(List.of(new Sequences.Position("public.orders_id_seq", 1042, true),
                new Sequences.Position("\"odd'schema\".\"seq\nx\"", 1, false),
                new Sequences.Position("public.down", -77, true)), p);
        assertEquals("BEGIN;\n"
                + "SELECT setval('public.orders_id_seq'::regclass, 1042, true);\n"
                + "SELECT setval('\"odd''schema\".\"seq\nx\"'::regclass, 1, false);\n"
                + "SELECT setval('public.down'::regclass, -77, true);\n"
                + "COMMIT;\n", Sequences.setSql(p), "the exact value: no margin, a never-used sequence stays unused");
    }
}
