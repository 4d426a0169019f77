package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Materialized views, which neither logical replication nor a schema-only dump fills: a copy made
 * that way has them unpopulated ("has not been populated" for whoever queries them). What one side
 * has populated is read in one round trip; the other side refreshes the same ones, in creation
 * order (a view built on another comes after it). Names are read as hex and quoted.
 */
public final class MaterializedViews {
    /** Populated materialized views of a database, quoted, in creation order. */
    static final String POPULATED = "SELECT " + Psql.hex("quote_ident(n.nspname) || '.' || quote_ident(c.relname)")
            + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND c.relispopulated ORDER BY c.oid";

    private MaterializedViews() {
    }

    /** The populated materialized views of each of {@code databases} on the cluster on {@code port} (one psql). */
    public static Map<String, List<String>> populated(HostContext ctx, int port, List<String> databases) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Psql.rowsPerDatabase(ctx, port, databases, db -> POPULATED, Duration.ofMinutes(5)).forEach((db, rows) -> {
            List<String> names = new ArrayList<>();
            rows.forEach(r -> names.add(Psql.unhex(r.get(0))));
            out.put(db, names);
        });
        return out;
    }

    /**
     * The SQL that refreshes {@code views} (quoted names) in one database of a side that is
     * read-only for everyone else; null when there is none.
     */
    static String refreshSql(List<String> views) {
        if (views.isEmpty()) {
            return null;
        }
        StringBuilder sql = new StringBuilder(Psql.WRITABLE);
        views.forEach(v -> sql.append("REFRESH MATERIALIZED VIEW ").append(v).append(";\n"));
        return sql.toString();
    }

    /**
     * Refreshes {@code views} (database -> quoted names, as {@link #populated} gives them) on the
     * cluster on {@code port}, database by database, each within {@code limit}. A view the
     * cluster lacks fails with psql's error.
     */
    public static void refresh(HostContext ctx, int port, Map<String, List<String>> views, Duration limit) {
        views.forEach((db, names) -> {
            String sql = refreshSql(names);
            if (sql != null) {
                Psql.run(ctx, port, db, sql, limit);
            }
        });
    }
}
