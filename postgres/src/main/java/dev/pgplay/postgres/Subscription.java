package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * pgplay's subscription ({@code pgplay_bluegreen}) in each named database of a cluster, following
 * the {@link Publication} of the same database on another cluster. The connection names host,
 * port and user only: a password comes from the server's {@code ~postgres/.pgpass}, never from
 * the catalog. Each database's slot on the other side has a name of its own
 * ({@link #slotFor}), as the subscription name is the same everywhere.
 */
public final class Subscription extends EachDatabase {
    public static final String NAME = "pgplay_bluegreen";

    private final String publisher;
    private final boolean copyData;

    private Subscription(int port, List<String> databases, String publisher, boolean copyData, boolean wanted) {
        super(port, wanted, databases);
        this.publisher = publisher;
        this.copyData = copyData;
    }

    /**
     * A subscription in each of {@code databases} to the publisher {@code publisher} (a libpq
     * connection string of host, port and user, without dbname); {@code copyData} false when the
     * rows are there already (a clone brought to the slot's position).
     */
    public static Subscription present(int port, List<String> databases, String publisher, boolean copyData) {
        if (publisher.contains("dbname") || publisher.contains("password")) {
            throw new IllegalArgumentException("the publisher's connection string names host, port and user only: no dbname, and no password"
                    + " (it comes from ~postgres/.pgpass, never from the catalog)");
        }
        return new Subscription(port, databases, publisher, copyData, true);
    }

    /** The subscription dropped from each of {@code databases} (its slot on the publisher with it). */
    public static Subscription absent(int port, List<String> databases) {
        return new Subscription(port, databases, "", false, false);
    }

    /** The slot of {@code database}'s subscription on the publisher: its name hashed, so any name makes a valid slot name. */
    public static String slotFor(String database) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(database.getBytes(StandardCharsets.UTF_8));
            return "pgplay_bg_" + HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code database} has the subscription; null when it cannot be read. */
    public static Fact<Boolean> subscribed(int port, String database) {
        return Psql.fact("subscription", port, database, "SELECT count(*) FROM pg_subscription WHERE subname = " + Psql.literal(NAME)
                + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                rows -> !rows.isEmpty() && !"0".equals(rows.get(0).get(0)), null);
    }

    /** Tables of {@code database} whose initial copy is not finished yet (quoted names); empty once every one is ready. */
    public static List<String> copying(HostContext ctx, int port, String database) {
        List<String> out = new ArrayList<>();
        for (List<String> r : Psql.rows(ctx, port, database, "SELECT " + Psql.hex("r.srrelid::regclass::text") + " FROM pg_subscription_rel r"
                + " JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = " + Psql.literal(NAME) + " AND r.srsubstate NOT IN ('r', 's')")) {
            out.add(Psql.unhex(r.get(0)));
        }
        return out;
    }

    /**
     * On the publisher: how far each pgplay subscription has confirmed (slot -> confirmed_flush_lsn,
     * -1 when none yet). Once writes are blocked there, every slot at or past the publisher's
     * current WAL position proves the subscriber applied and flushed everything: the proof a
     * switch waits for, by LSN and not by time.
     */
    public static java.util.Map<String, Long> confirmed(HostContext ctx, int port) {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        for (List<String> r : Psql.rows(ctx, port, "postgres", "SELECT slot_name, coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots"
                + " WHERE slot_type = 'logical' AND slot_name LIKE 'pgplay\\_bg\\_%'")) {
            out.put(r.get(0), r.get(1).isEmpty() ? -1 : Psql.lsn(r.get(1)));
        }
        return out;
    }

    @Override
    Fact<Boolean> present(String database) {
        return subscribed(port, database);
    }

    @Override
    String sql(String database) {
        // past the DDL guard, which a schema copied from a guarded database brings along
        return "SET pgplay.allow_ddl = on;\n" + (wanted ? create(database) : DROP_SQL);
    }

    @Override
    Words words() {
        return new Words("subscribed in %d database(s)", "no subscription", "subscribe ", "drop the subscription of ");
    }

    private String create(String db) {
        return createSql(db, publisher, copyData);
    }

    /**
     * The SQL that subscribes {@code db} to the same database at {@code publisher} (host, port and
     * user; checked by {@link #present}); run in that database, outside a transaction block.
     */
    public static String createSql(String db, String publisher, boolean copyData) {
        return createSql(db, publisher, copyData, true);
    }

    /**
     * {@link #createSql(String, String, boolean)}; {@code createSlot} false: the slot ({@link #slotFor})
     * is on the publisher already, made and positioned by the caller.
     */
    public static String createSql(String db, String publisher, boolean copyData, boolean createSlot) {
        // synchronous_commit: each applied transaction is flushed when applied, so the slot confirms it at once (a switch's proof waits for that)
        String conninfo = publisher + " " + Psql.conninfo(db);
        return "CREATE SUBSCRIPTION " + NAME + " CONNECTION " + Psql.literal(conninfo) + " PUBLICATION " + Publication.NAME
                + " WITH (copy_data = " + copyData + ", slot_name = " + Psql.literal(slotFor(db)) + ", synchronous_commit = on"
                + (createSlot ? "" : ", create_slot = false") + ");\n";
    }

    /**
     * The SQL that drops the subscription of the database it runs in without reaching the
     * publisher: its slot there stays, for the caller to drop ({@link #DROP_SQL} reaches it).
     */
    public static final String DETACH_SQL = letGo(NAME) + "DROP SUBSCRIPTION " + NAME + ";\n";

    /** The SQL that stops pgplay's subscription and lets its slot go, keeping the subscription (detached: nothing more can reach it). */
    public static final String LET_GO_SQL = letGo(NAME);

    private static String letGo(String name) {
        return "ALTER SUBSCRIPTION " + name + " DISABLE;\nALTER SUBSCRIPTION " + name + " SET (slot_name = NONE);\n";
    }

    /**
     * A subscription made ahead of a switch, disabled, on the side that will follow: creating one
     * reaches the publisher (a login and a query for its tables), which {@link #PENDING_ENABLE_SQL}
     * in the switch's window does not. Its slot ({@link #slotFor}) is the caller's, made and
     * positioned on the publisher; {@link #PENDING_DROP_SQL} leaves that slot alone.
     */
    public static final String PENDING = "pgplay_bluegreen_pending";

    /** The SQL that makes the {@link #PENDING} subscription of {@code db} to {@code publisher}, disabled, with no copy and no slot made. */
    public static String pendingSql(String db, String publisher) {
        return "CREATE SUBSCRIPTION " + PENDING + " CONNECTION " + Psql.literal(publisher + " " + Psql.conninfo(db)) + " PUBLICATION "
                + Publication.NAME + " WITH (enabled = false, copy_data = false, create_slot = false, slot_name = " + Psql.literal(slotFor(db))
                + ", synchronous_commit = on);\n";
    }

    /** The SQL that turns the {@link #PENDING} subscription into pgplay's, following (one transaction: either or neither). */
    public static final String PENDING_ENABLE_SQL = "BEGIN;\nALTER SUBSCRIPTION " + PENDING + " RENAME TO " + NAME + ";\nALTER SUBSCRIPTION " + NAME
            + " ENABLE;\nCOMMIT;\n";

    /** The SQL that drops the {@link #PENDING} subscription without reaching its publisher (the slot there stays). */
    public static final String PENDING_DROP_SQL = "ALTER SUBSCRIPTION " + PENDING + " SET (slot_name = NONE);\nDROP SUBSCRIPTION " + PENDING + ";\n";

    /** The SQL that drops the subscription of the database it runs in (its slot on the publisher with it). */
    public static final String DROP_SQL = "DROP SUBSCRIPTION IF EXISTS " + NAME + ";\n";
}
