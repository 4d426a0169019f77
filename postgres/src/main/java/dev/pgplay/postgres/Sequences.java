package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import java.util.ArrayList;
import java.util.List;

/**
 * Sequence positions of one database, read exactly and set exactly on another server (logical
 * replication carries rows, not sequences). Read while writes are blocked, a sequence's
 * {@code last_value} is final: it counts every value handed out, those cached by sessions
 * included, so the other side goes on from the next value and never hands out one twice. No
 * margin is added (Autobase adds a million, pg_easy_replicate takes max(column)).
 */
public final class Sequences {
    private Sequences() {
    }

    /** A sequence (as a quoted, schema-qualified name) and where it stands: {@code called} false means never used. */
    public record Position(String name, long lastValue, boolean called) {
    }

    /**
     * Every sequence of the database: read from each sequence itself (pg_sequences hides the
     * position of one never called). Names read as hex: a name from the server is never trusted.
     */
    public static final String READ = "SELECT " + Psql.hex("quote_ident(n.nspname) || '.' || quote_ident(c.relname)")
            + ", (pg_sequence_last_value(c.oid) IS NOT NULL)::text, coalesce(pg_sequence_last_value(c.oid), s.seqstart)::text"
            + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid"
            + " WHERE c.relkind = 'S' AND c.relpersistence = 'p' ORDER BY 1;\n";

    /** The positions of every sequence of {@code database} on the cluster at {@code port}. */
    public static List<Position> read(HostContext ctx, int port, String database) {
        return parse(Psql.rows(ctx, port, database, READ));
    }

    public static List<Position> parse(List<List<String>> rows) {
        List<Position> out = new ArrayList<>();
        for (List<String> r : rows) {
            out.add(new Position(Psql.unhex(r.get(0)), Long.parseLong(r.get(2)), "true".equals(r.get(1))));
        }
        return out;
    }

    /**
     * SQL that sets each sequence to its position (in one transaction: all or none). A sequence
     * missing on the other side fails it: the schemas differ, which the caller must hear of.
     */
    public static String setSql(List<Position> positions) {
        StringBuilder sql = new StringBuilder("BEGIN;\n");
        for (Position p : positions) {
            sql.append("SELECT setval(").append(Psql.literal(p.name())).append("::regclass, ").append(p.lastValue()).append(", ")
                    .append(p.called()).append(");\n");
        }
        return sql.append("COMMIT;\n").toString();
    }
}
