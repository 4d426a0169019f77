package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a cluster must offer before its databases can be replicated logically to another major
 * version and back (blue-green): read in one pass over every database, judged by
 * {@link #refusals} (what stops a prepare) and {@link #notes} (what the report says).
 *
 * <p>Names come from the server and are untrusted: they are read as hex and shown quoted as SQL
 * identifiers, never as they are.
 */
public record LogicalReadiness(Map<String, String> settings, int slotsUsed, int sendersUsed, List<Database> databases) {

    /** The server settings a publisher needs and, for the way back, a subscriber. */
    static final List<String> SETTINGS = List.of("wal_level", "max_replication_slots", "max_wal_senders",
            "max_logical_replication_workers", "max_worker_processes", "max_sync_workers_per_subscription");

    /** One database's findings; table and extension names as quoted identifiers. */
    public record Database(String name, List<String> withoutIdentity, List<String> identityFull, List<String> unlogged,
                           long largeObjects, Map<String, String> extensions, int sequences) {
        public Database {
            withoutIdentity = List.copyOf(withoutIdentity);
            identityFull = List.copyOf(identityFull);
            unlogged = List.copyOf(unlogged);
            extensions = Map.copyOf(extensions);
        }
    }

    public LogicalReadiness {
        settings = Map.copyOf(settings);
        databases = List.copyOf(databases);
    }

    /**
     * Tables that logical replication cannot update or delete rows of: no primary key under the
     * default identity, or identity NOTHING, or an identity index that is gone. Partitioned parents
     * hold no rows; their partitions are listed.
     */
    static final String TABLES = "SELECT CASE WHEN c.relpersistence = 'u' THEN 'unlogged' WHEN c.relreplident = 'f' THEN 'full' ELSE 'noid' END, "
            + Psql.hex("quote_ident(n.nspname) || '.' || quote_ident(c.relname)")
            + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE c.relkind = 'r' AND " + EachDatabase.USER_SCHEMAS + " AND c.relpersistence <> 't'"
            + " AND (c.relpersistence = 'u' OR c.relreplident IN ('n', 'f')"
            + "   OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))"
            + "   OR (c.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))"
            + " UNION ALL SELECT 'lo', count(*)::text FROM pg_largeobject_metadata"
            + " UNION ALL SELECT 'seq', count(*)::text FROM pg_class WHERE relkind = 'S'"
            + " UNION ALL SELECT 'ext', " + Psql.hex("quote_ident(extname) || ' ' || extversion") + " FROM pg_extension WHERE extname <> 'plpgsql'"
            + " ORDER BY 1, 2;\n";

    /** Reads the cluster on {@code port}: its settings, slots and senders in use, and every database that takes connections. */
    public static LogicalReadiness read(HostContext ctx, int port) {
        Map<String, String> settings = new LinkedHashMap<>();
        StringBuilder in = new StringBuilder();
        for (String s : SETTINGS) {
            in.append(in.length() == 0 ? "" : ", ").append(Psql.literal(s));
        }
        for (List<String> r : Psql.rows(ctx, port, "postgres", "SELECT name, setting FROM pg_settings WHERE name IN (" + in + ");\n")) {
            settings.put(r.get(0), r.get(1));
        }
        // pgplay's own (a prepare run again, its table copies) are what it needs, not what others use
        List<List<String>> used = Psql.rows(ctx, port, "postgres",
                "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name !~ '^pgplay_bg_' AND slot_name !~ '^pg_[0-9]+_sync_'), "
                + "(SELECT count(*) FROM pg_stat_replication WHERE application_name <> " + Psql.literal(Subscription.NAME)
                + " AND application_name !~ '^pg_[0-9]+_sync_');\n");
        List<Database> dbs = new ArrayList<>();
        for (String db : Psql.databases(ctx, port, EachDatabase.REPLICATED)) {
            dbs.add(database(db, Psql.rows(ctx, port, db, TABLES)));
        }
        return new LogicalReadiness(settings, Integer.parseInt(used.get(0).get(0)), Integer.parseInt(used.get(0).get(1)), dbs);
    }

    /** One database's findings from the rows of {@link #TABLES}. */
    static Database database(String name, List<List<String>> rows) {
        List<String> noid = new ArrayList<>();
        List<String> full = new ArrayList<>();
        List<String> unlogged = new ArrayList<>();
        Map<String, String> extensions = new LinkedHashMap<>();
        long lo = 0;
        int seq = 0;
        for (List<String> r : rows) {
            switch (r.get(0)) {
                case "noid" -> noid.add(Psql.unhex(r.get(1)));
                case "full" -> full.add(Psql.unhex(r.get(1)));
                case "unlogged" -> unlogged.add(Psql.unhex(r.get(1)));
                case "lo" -> lo = Long.parseLong(r.get(1));
                case "seq" -> seq = Integer.parseInt(r.get(1));
                case "ext" -> {
                    String e = Psql.unhex(r.get(1));
                    int sp = e.lastIndexOf(' ');
                    extensions.put(e.substring(0, sp), e.substring(sp + 1));
                }
                default -> throw new IllegalStateException("unexpected readiness row " + r);
            }
        }
        return new Database(name, noid, full, unlogged, lo, extensions, seq);
    }

    private int setting(String name) {
        String v = settings.get(name);
        return v == null ? 0 : Integer.parseInt(v);
    }

    /**
     * How many tables the new side may copy at once from this cluster (publisher): each copy takes
     * a slot and a sender beside the subscriptions' own; 1 to 4, or 0 when even one does not fit.
     */
    public int tableCopiesAtOnce() {
        int free = Math.min(setting("max_replication_slots") - slotsUsed, setting("max_wal_senders") - sendersUsed) - replicatedDatabases();
        return Math.max(0, Math.min(4, free));
    }

    /** How many databases are replicated: one publication, slot and subscription each. */
    public int replicatedDatabases() {
        return databases.size();
    }

    /**
     * What stops a prepare on this cluster (the source): each a sentence that names the object
     * and what to do. {@code identityFull} true accepts tables without a key (they are set to
     * REPLICA IDENTITY FULL and reported); {@code copyLargeObjects} false refuses large objects;
     * {@code unloggedEmpty} false refuses unlogged tables (true: the new side has them empty, by
     * choice, and the comparison leaves their rows out).
     */
    public List<String> refusals(boolean identityFull, boolean copyLargeObjects, boolean unloggedEmpty) {
        List<String> out = new ArrayList<>();
        if (!"logical".equals(settings.get("wal_level"))) {
            out.add("wal_level is " + settings.get("wal_level") + ", logical replication needs logical: ALTER SYSTEM SET wal_level = logical"
                    + " and restart the cluster in a window (a restart is never done behind your back)");
        }
        int dbs = replicatedDatabases();
        if (setting("max_replication_slots") < slotsUsed + dbs + 1) {
            out.add("max_replication_slots is " + setting("max_replication_slots") + ": " + slotsUsed + " in use and " + (dbs + 1)
                    + " more needed (one per database, one for the copy of a table at a time); raise it (restart)");
        }
        if (setting("max_wal_senders") < sendersUsed + dbs + 1) {
            out.add("max_wal_senders is " + setting("max_wal_senders") + ": " + sendersUsed + " in use and " + (dbs + 1)
                    + " more needed (one per database, one for the copy of a table at a time); raise it (restart)");
        }
        // the way back: this cluster subscribes to the new one after the switch, one worker per database
        if (setting("max_logical_replication_workers") < dbs) {
            out.add("max_logical_replication_workers is " + setting("max_logical_replication_workers") + ", the way back needs " + dbs
                    + " (one per database) on this cluster; raise it (restart) before the prepare");
        }
        if (setting("max_worker_processes") < dbs + 1) {
            out.add("max_worker_processes is " + setting("max_worker_processes") + ", the way back needs " + (dbs + 1)
                    + " (an apply worker per database and the launcher) besides parallel query's; raise it (restart) before the prepare");
        }
        for (Database d : databases) {
            if (!d.withoutIdentity().isEmpty() && !identityFull) {
                out.add("database " + Psql.ident(d.name()) + ": " + d.withoutIdentity().size() + " table(s) without a replica identity ("
                        + String.join(", ", first(d.withoutIdentity())) + "): add a primary key, or -e replica-identity-full=true"
                        + " (updates and deletes then send whole rows)");
            }
            if (d.largeObjects() > 0 && !copyLargeObjects) {
                out.add("database " + Psql.ident(d.name()) + ": " + d.largeObjects() + " large object(s), which logical replication does not carry;"
                        + " -e copy-large-objects=true copies them at the switch, while writes are blocked");
            }
            if (!d.unlogged().isEmpty() && !unloggedEmpty) {
                out.add("database " + Psql.ident(d.name()) + ": unlogged table(s), which logical replication does not carry: "
                        + String.join(", ", first(d.unlogged())) + "; -e unlogged-tables=empty leaves them empty on the new side"
                        + " (their rows are not compared), or make them logged (ALTER TABLE ... SET LOGGED)");
            }
        }
        return out;
    }

    /**
     * The items of a {@link Snapshot} that hold the rows of the unlogged tables ({@code DB: table
     * NAME}), which the comparison leaves out when the new side has them empty by choice.
     */
    public List<String> unloggedRowItems() {
        List<String> out = new ArrayList<>();
        for (Database d : databases) {
            d.unlogged().forEach(t -> out.add(d.name() + ": table " + t));
        }
        return out;
    }

    /** Large objects in every database. */
    public long largeObjects() {
        return databases.stream().mapToLong(Database::largeObjects).sum();
    }

    /** What the report says about this cluster even when nothing is refused. */
    public List<String> notes(boolean identityFull) {
        List<String> out = new ArrayList<>();
        for (Database d : databases) {
            if (!d.unlogged().isEmpty()) {
                out.add("database " + Psql.ident(d.name()) + ": unlogged table(s) left empty on the new side by choice (unlogged-tables=empty), "
                        + "their rows not compared: " + String.join(", ", first(d.unlogged())));
            }
            if (!d.identityFull().isEmpty()) {
                out.add("database " + Psql.ident(d.name()) + ": already REPLICA IDENTITY FULL: " + String.join(", ", first(d.identityFull())));
            }
            if (identityFull && !d.withoutIdentity().isEmpty()) {
                out.add("database " + Psql.ident(d.name()) + ": set to REPLICA IDENTITY FULL (no key): " + String.join(", ", first(d.withoutIdentity())));
            }
        }
        return out;
    }

    /** The extensions of every database, as name -> version (where databases differ, the last one's, in name order). */
    public Map<String, String> extensions() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Database d : databases) {
            out.putAll(d.extensions());
        }
        return out;
    }

    private static List<String> first(List<String> names) {
        return names.size() <= 5 ? names : List.of(String.join(", ", names.subList(0, 5)), "and " + (names.size() - 5) + " more");
    }
}
