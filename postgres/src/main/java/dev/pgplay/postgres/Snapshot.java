package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What must be the same before and after a major upgrade, read from a running cluster: per
 * database its properties, schemas, number of tables, rows and a content checksum per table
 * (an order-independent sum of per-row 64-bit hashes, so no sort and no memory), owners and
 * privileges (ACL items sorted: their order is not kept), sequences' last values, extensions and large objects; roles with their attributes,
 * a password fingerprint and memberships.
 */
public final class Snapshot {
    /** Item -> value, e.g. "app: table public.items" -> "1000 rows, checksum 8f3a9c0d12ab". */
    private final Map<String, String> items;

    Snapshot(Map<String, String> items) {
        this.items = items;
    }

    /** Item -> value, read-only. */
    /**
     * This snapshot without a schema of pgplay's own ({@code pgplay}: the DDL guard of a blue-green
     * upgrade lives there, on the side it guards only): dropped from each database's schema list.
     */
    public Snapshot without(String schema) {
        Map<String, String> out = new LinkedHashMap<>();
        items.forEach((k, v) -> out.put(k, k.endsWith(": schemas")
                ? String.join(",", java.util.Arrays.stream(v.split(",")).filter(x -> !x.equals(schema)).toList()) : v));
        return new Snapshot(out);
    }

    public Map<String, String> items() {
        return java.util.Collections.unmodifiableMap(items);
    }

    /** An order-independent content hash of many rows: the sum of 64-bit hashes (hashtextextended is stable across majors). */
    public static final String ROW_HASH = "left(md5(coalesce(sum(hashtextextended(%s, 0)::numeric), 0)::text), 12)";
    public static final String BYTES_HASH = "left(md5(coalesce(sum(('x' || left(md5(%s), 16))::bit(64)::bigint::numeric), 0)::text), 12)";

    /**
     * A text column as the snapshot keeps it: as it is, or {@code hex:...} of its bytes when it
     * holds a control character (a newline or the field separator would split the row).
     */
    public static String safe(String expr) {
        return "(CASE WHEN (" + expr + ") ~ '[[:cntrl:]]' THEN 'hex:' || " + Psql.hex("(" + expr + ")") + " ELSE (" + expr + ") END)";
    }

    /** schema.name with both quoted where needed, so no two relations read alike. */
    public static final String QUALIFIED = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)";

    public static final String ROLES = "SELECT " + safe("'role ' || quote_ident(r.rolname)") + ", " + safe("concat_ws(' ', CASE WHEN r.rolsuper THEN 'superuser' END, "
            + "CASE WHEN r.rolcanlogin THEN 'login' END, CASE WHEN r.rolreplication THEN 'replication' END, "
            + "CASE WHEN r.rolcreatedb THEN 'createdb' END, CASE WHEN r.rolcreaterole THEN 'createrole' END, "
            + "CASE WHEN a.rolpassword IS NOT NULL THEN 'password' END, "
            + "'member of: ' || coalesce((SELECT string_agg(quote_ident(g.rolname), ',' ORDER BY g.rolname) FROM pg_auth_members m "
            + "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '-'))") + " "
            + "FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid WHERE r.rolname !~ '^pg_' "
            + "UNION ALL SELECT " + safe("'role ' || quote_ident(a.rolname) || " + Snapshot.SECRET_SUFFIX_SQL) + ", md5(a.rolpassword) FROM pg_authid a "
            + "WHERE a.rolname !~ '^pg_' AND a.rolpassword IS NOT NULL ORDER BY 1;\n";

    /**
     * Items whose value is a fingerprint of a secret (a role's password hash): compared like the
     * others, kept only in the snapshot file on the host (0600), never printed.
     */
    public static final String SECRET_SUFFIX = " password hash";
    public static final String SECRET_SUFFIX_SQL = "' password hash'";

    public static final String USER_RELATIONS = "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)' ";

    public static String acl(String column) {
        return "coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(" + column + ") a), '')";
    }

    /** What one psql session reads per database; \gexec runs the generated per-sequence queries. */
    public static String perDatabase() {
        return perDatabase(Depth.FULL);
    }

    static String perDatabase(Depth depth) {
        return "SELECT 'database', " + safe("quote_ident(pg_get_userbyid(datdba)) || ' ' || pg_encoding_to_char(encoding) || ' ' || datcollate "
                + "|| ' ' || datctype || ' ' || " + acl("datacl")) + " FROM pg_database WHERE datname = current_database();\n"
                + "SELECT 'schemas', " + safe("coalesce(string_agg(quote_ident(nspname), ',' ORDER BY nspname), '')") + " FROM pg_namespace "
                + "WHERE nspname NOT IN ('information_schema') AND nspname !~ '^pg_';\n"
                + "SELECT 'tables', count(*) " + USER_RELATIONS + "AND c.relkind IN ('r', 'p');\n"
                + "SELECT " + safe("'materialized view ' || " + QUALIFIED) + ", CASE WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END "
                + USER_RELATIONS + "AND c.relkind = 'm' ORDER BY 1;\n"
                + "SELECT " + safe("'owner and privileges ' || " + QUALIFIED) + ", " + safe("quote_ident(pg_get_userbyid(c.relowner)) || ' ' || " + acl("c.relacl")) + " "
                + USER_RELATIONS + "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY 1;\n"
                + "SELECT format('SELECT %L, last_value || '' '' || is_called FROM %I.%I', " + safe("'sequence ' || " + QUALIFIED) + ", "
                + "n.nspname, c.relname) " + USER_RELATIONS + "AND c.relkind = 'S' ORDER BY n.nspname, c.relname \\gexec\n"
                + "SELECT 'extension ' || e.extname, e.extversion || ' ' || coalesce(a.default_version, '?') FROM pg_extension e "
                + "LEFT JOIN pg_available_extensions a ON a.name = e.extname ORDER BY 1;\n"
                + (depth.rows() ? "SELECT 'large objects', count(*) || ' objects, checksum ' || " + BYTES_HASH.formatted("lo_get(oid)")
                + " FROM pg_largeobject_metadata;\n" : "SELECT 'large objects', count(*) || ' objects' FROM pg_largeobject_metadata;\n")
                + structure(depth.fileNumbers());
    }

    /** The per-table query (rows and content hash) for every user table, largest first. */
    public static String tableQueries() {
        return tableQueries("table ", "");
    }

    /**
     * A sample of every user table: the whole table under 10 MB, else 1% of its pages
     * ({@code TABLESAMPLE SYSTEM}, a fixed seed: the same pages of identical files).
     */
    public static String sampleQueries() {
        return tableQueries("sample ", " TABLESAMPLE SYSTEM (' || CASE WHEN pg_relation_size(c.oid) < 10485760 THEN 100 ELSE 1 END || ') REPEATABLE (7)");
    }

    private static String tableQueries(String item, String sampling) {
        // as hex: a query names its table, and a name may hold a newline that would split psql's rows
        return "SELECT " + Psql.hex("format('SELECT %L, count(*) || '' rows, checksum '' || " + ROW_HASH.formatted("t::text").replace("'", "''")
                + " FROM ONLY %I.%I t" + sampling + "', " + safe("'" + item + "' || " + QUALIFIED) + ", n.nspname, c.relname)") + " "
                + USER_RELATIONS + "AND c.relkind = 'r' ORDER BY pg_relation_size(c.oid) DESC, n.nspname, c.relname";
    }

    /**
     * The structure of every user relation, read from the catalog alone (no table is read):
     * columns with types and NOT NULL, index and constraint definitions, and with
     * {@code fileNumbers} each relation's file number (relfilenode, its TOAST table's too), which
     * pg_upgrade keeps from PostgreSQL 15 on.
     */
    public static String structure(boolean fileNumbers) {
        String out = "SELECT " + safe("'columns ' || " + QUALIFIED) + ", " + safe("string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) "
                + "|| CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum)") + " "
                + USER_RELATIONS.replace("WHERE ", "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE ")
                + "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') GROUP BY n.nspname, c.relname ORDER BY 1;\n"
                + "SELECT " + safe("'index ' || " + QUALIFIED) + ", " + safe("pg_get_indexdef(c.oid)") + " " + USER_RELATIONS
                + "AND c.relkind IN ('i', 'I') ORDER BY 1;\n"
                + "SELECT " + safe("'constraint ' || " + QUALIFIED + " || ' ' || quote_ident(o.conname)") + ", " + safe("pg_get_constraintdef(o.oid)") + " "
                + USER_RELATIONS.replace("WHERE ", "JOIN pg_constraint o ON o.conrelid = c.oid WHERE ") + "ORDER BY 1;\n";
        if (fileNumbers) {
            out += "SELECT " + safe("'file ' || " + QUALIFIED) + ", c.relfilenode || coalesce(' toast ' || t.relfilenode, '') "
                    + USER_RELATIONS.replace("WHERE ", "LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE ")
                    + "AND c.relkind IN ('r', 'm', 'i', 'S') AND c.relpersistence <> 'u' ORDER BY 1;\n";
        }
        return out;
    }

    /**
     * How much of a cluster is read: the catalog (always: roles, databases, schemas, owners and
     * privileges, sequences, extensions, large objects counted, and the {@link #structure}), with
     * {@code fileNumbers} the relations' file numbers, with {@code sample} a sample of each table's
     * rows, with {@code rows} every row of every table (and every large object's bytes).
     */
    public record Depth(boolean fileNumbers, boolean sample, boolean rows) {
        /** Every row: the default, and what a dump and restore is verified with. */
        public static final Depth FULL = new Depth(false, false, true);
        /** The catalog alone. */
        public static final Depth CATALOG = new Depth(false, false, false);

        public String text() {
            return rows ? "every row" : sample ? "catalog, file numbers and a sample of rows" : fileNumbers ? "catalog and file numbers" : "catalog";
        }
    }

    /**
     * Reads the cluster on {@code port} (every database that accepts connections but template0);
     * the tables of a database are hashed by {@code jobs} psql sessions at once, largest first.
     */
    public static final java.time.Duration READ_LIMIT = java.time.Duration.ofHours(24);

    public static Snapshot read(HostContext ctx, int port, int jobs) throws InterruptedException {
        return read(ctx, port, jobs, Map.of());
    }

    /**
     * {@link #read(HostContext, int, int)} as of exported snapshots: every session in a database
     * named in {@code snapshots} (database -> snapshot id from pg_export_snapshot(), whose exporting
     * transaction is still open) reads in that snapshot, so the cluster can be compared as it was
     * at that moment while it takes writes again. Sequences are not transactional: their
     * positions are what they are now.
     */
    public static Snapshot read(HostContext ctx, int port, int jobs, Map<String, String> snapshots) throws InterruptedException {
        return read(ctx, port, jobs, snapshots, Depth.FULL);
    }

    /** {@link #read(HostContext, int, int, Map)} to the given {@code depth}. */
    public static Snapshot read(HostContext ctx, int port, int jobs, Map<String, String> snapshots, Depth depth) throws InterruptedException {
        Map<String, String> items = new LinkedHashMap<>();
        // roles and the list of databases in one round trip, the databases' rows marked
        String marker = "pgplay-database-" + java.util.UUID.randomUUID();
        List<String> dbs = new ArrayList<>();
        for (List<String> row : Psql.rows(ctx, port, "postgres", in(snapshots, "postgres", ROLES) + "SELECT '" + marker + "', " + Psql.hex("datname")
                + " FROM pg_database WHERE datallowconn AND datname <> 'template0' ORDER BY datname;\n")) {
            if (row.size() == 2 && row.get(0).equals(marker)) {
                dbs.add(Psql.unhex(row.get(1)));
            } else {
                items.put(row.get(0), row.get(1));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, jobs));
        try {
            // the catalogs through `jobs` psql sessions at once, each reading its share of the databases one after the
            // other (\connect): in a window of refused writes every round trip counts
            List<List<String>> shares = new ArrayList<>();
            for (int i = 0; i < dbs.size(); i++) {
                if (i < Math.max(1, jobs)) {
                    shares.add(new ArrayList<>());
                }
                shares.get(i % shares.size()).add(dbs.get(i));
            }
            List<Future<Map<String, List<List<String>>>>> reads = new ArrayList<>();
            for (List<String> share : shares) {
                reads.add(pool.submit(() -> Psql.rowsPerDatabase(ctx, port, share, name -> in(snapshots, name, perDatabase(depth)), READ_LIMIT)));
            }
            Map<String, List<List<String>>> catalogs = new java.util.HashMap<>();
            for (Future<Map<String, List<List<String>>>> f : reads) {
                try {
                    catalogs.putAll(f.get());
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            }
            for (String name : dbs) {
                for (List<String> row : catalogs.get(name)) {
                    items.put(name + ": " + row.get(0), row.size() > 1 ? row.get(1) : "");
                }
                if (!depth.rows() && !depth.sample()) {
                    continue;
                }
                List<String> queries = Psql.rows(ctx, port, name, depth.rows() ? tableQueries() : sampleQueries()).stream().map(r -> Psql.unhex(r.get(0))).toList();
                List<StringBuilder> sessions = new ArrayList<>();
                for (int i = 0; i < Math.min(Math.max(1, jobs), queries.size()); i++) {
                    sessions.add(new StringBuilder());
                }
                for (int i = 0; i < queries.size(); i++) {
                    sessions.get(i % sessions.size()).append(queries.get(i)).append(";\n"); // largest first, dealt round-robin
                }
                List<Future<List<List<String>>>> results = new ArrayList<>();
                for (StringBuilder sql : sessions) {
                    // a session reads whole tables: its limit is the work's, not a statement's
                    results.add(pool.submit(() -> Psql.rows(ctx, port, name, in(snapshots, name, sql.toString()), READ_LIMIT)));
                }
                Map<String, String> tables = new TreeMap<>();
                for (Future<List<List<String>>> f : results) {
                    try {
                        f.get().forEach(row -> tables.put(name + ": " + row.get(0), row.get(1)));
                    } catch (ExecutionException e) {
                        throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                    }
                }
                items.putAll(tables);
            }
        } finally {
            pool.shutdownNow();
        }
        return new Snapshot(items);
    }

    /** {@code sql} inside the exported snapshot of {@code database} when there is one. */
    private static String in(Map<String, String> snapshots, String database, String sql) {
        String id = snapshots.get(database);
        if (id == null) {
            return sql;
        }
        if (!id.matches("[0-9A-Fa-f-]+")) {
            throw new IllegalArgumentException("not a snapshot id: " + id);
        }
        return "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSET TRANSACTION SNAPSHOT '" + id + "';\n" + sql + "COMMIT;\n";
    }

    /** This snapshot without the items whose name contains {@code part} (": sequence ": not comparable across a moment). */
    /** Without the items named exactly in {@code keys} ({@code DB: table NAME}). */
    public Snapshot withoutKeys(java.util.Collection<String> keys) {
        Map<String, String> out = new LinkedHashMap<>(items);
        out.keySet().removeAll(keys);
        return new Snapshot(out);
    }

    public Snapshot withoutItems(String part) {
        Map<String, String> out = new LinkedHashMap<>(items);
        out.keySet().removeIf(k -> k.contains(part));
        return new Snapshot(out);
    }

    public String text() {
        StringBuilder b = new StringBuilder();
        items.forEach((k, v) -> b.append(k.replace('\t', ' ').replace('\n', ' ')).append('\t').append(v.replace('\n', ' ')).append('\n'));
        return b.toString();
    }

    public static Snapshot parse(String text) {
        Map<String, String> items = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab > 0) {
                items.put(line.substring(0, tab), line.substring(tab + 1));
            }
        }
        return new Snapshot(items);
    }

    /** One line of the verification table. */
    public record Row(String item, String before, String after, String verdict) {
        public boolean ok() {
            return !verdict.startsWith("DIFFERENT") && !verdict.startsWith("MISSING") && !verdict.startsWith("EXTRA");
        }
    }

    /**
     * Old against new. An extension's version may differ only when the new cluster runs the new
     * major's default version (what a dump and restore creates); everything else must be equal.
     */
    public static List<Row> compare(Snapshot before, Snapshot after) {
        Set<String> keys = new LinkedHashSet<>(before.items.keySet());
        keys.addAll(after.items.keySet());
        List<Row> rows = new ArrayList<>();
        for (String k : keys) {
            String b = before.items.get(k);
            String a = after.items.get(k);
            if (b == null) {
                rows.add(new Row(k, "-", a, "EXTRA in the new cluster"));
            } else if (a == null) {
                rows.add(new Row(k, b, "-", "MISSING in the new cluster"));
            } else if (k.contains(": extension ")) {
                String[] ob = b.split(" ");
                String[] na = a.split(" ");
                if (ob[0].equals(na[0])) {
                    rows.add(new Row(k, ob[0], na[0], na.length > 1 && !na[0].equals(na[1]) ? "same (" + na[1] + " available: ALTER EXTENSION ... UPDATE)" : "same"));
                } else if (na.length > 1 && na[0].equals(na[1])) {
                    rows.add(new Row(k, ob[0], na[0], "updated to the new default"));
                } else {
                    rows.add(new Row(k, ob[0], na[0], "DIFFERENT"));
                }
            } else {
                rows.add(new Row(k, b, a, b.equals(a) ? "same" : "DIFFERENT"));
            }
        }
        return rows;
    }

    /** The table as report lines: item, old, new, verdict. */
    public static List<String> table(List<Row> rows) {
        int w = Math.min(60, rows.stream().mapToInt(r -> r.item().length()).max().orElse(10));
        int v = Math.min(48, rows.stream().mapToInt(r -> Math.max(r.before().length(), r.after().length())).max().orElse(10));
        List<String> out = new ArrayList<>();
        String format = "%-" + w + "s  %-" + v + "s  %-" + v + "s  %s";
        out.add(String.format(format, "item", "old", "new", "result"));
        for (Row r : rows) {
            boolean secret = r.item().endsWith(SECRET_SUFFIX);
            out.add(String.format(format, r.item(), secret ? "(not shown)" : cut(r.before(), v), secret ? "(not shown)" : cut(r.after(), v), r.verdict()));
        }
        return out;
    }

    private static String cut(String s, int width) {
        return s.length() <= width ? s : s.substring(0, width - 1) + "~";
    }
}
