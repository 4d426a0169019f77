package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;

/**
 * The DDL guard of a blue-green upgrade: in every database of the source, an event trigger that
 * refuses schema changes while the new side follows by logical replication (which carries rows,
 * not DDL), with a message that says why and how to go on. A session that must change the schema
 * anyway, knowing the new side will not get the change, runs {@code SET pgplay.allow_ddl = on}
 * first. Changes to roles, databases and tablespaces are not DDL an event trigger sees. A
 * {@code REFRESH MATERIALIZED VIEW} (a site's nightly job) goes through: it changes no schema, and
 * the switch refreshes the new side's materialized views itself.
 */
public final class DdlGuard extends EachDatabase {
    static final String TRIGGER = "pgplay_ddl_guard";

    static final String INSTALL = "CREATE SCHEMA IF NOT EXISTS pgplay;\n"
            + "CREATE OR REPLACE FUNCTION pgplay.ddl_guard() RETURNS event_trigger LANGUAGE plpgsql AS $pgplay$\n"
            + "BEGIN\n"
            + "  IF coalesce(current_setting('pgplay.allow_ddl', true), '') <> 'on' AND tg_tag <> 'REFRESH MATERIALIZED VIEW' THEN\n"
            + "    RAISE EXCEPTION 'pgplay: % refused: a blue-green upgrade replicates this database and DDL would not reach the new side', tg_tag\n"
            + "      USING HINT = 'finish the upgrade (bluegreen-switch, then bluegreen-cleanup) or end it (bluegreen-rollback before the switch), "
            + "or run SET pgplay.allow_ddl = on in this session first and make the same change on the new side yourself';\n"
            + "  END IF;\n"
            + "END\n"
            + "$pgplay$;\n"
            + "CREATE EVENT TRIGGER " + TRIGGER + " ON ddl_command_start EXECUTE FUNCTION pgplay.ddl_guard();\n";

    static final String REMOVE = "DROP EVENT TRIGGER IF EXISTS " + TRIGGER + ";\n"
            + "DROP FUNCTION IF EXISTS pgplay.ddl_guard();\n"
            + "DO $pgplay$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgplay')"
            + " AND NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgplay')"
            + " THEN DROP SCHEMA IF EXISTS pgplay; END IF; END $pgplay$;\n";

    /** The SQL that (re)installs the guard in the database it runs in. */
    public static String installSql() {
        return REMOVE + INSTALL;
    }

    private DdlGuard(int port, boolean wanted) {
        super(port, wanted, null);
    }

    /** The guard in every database that takes connections. */
    public static DdlGuard on(int port) {
        return new DdlGuard(port, true);
    }

    /** The guard gone from every database (its pgplay schema too, when nothing else is in it). */
    public static DdlGuard off(int port) {
        return new DdlGuard(port, false);
    }

    /** Whether this version of the guard is in {@code database} and enabled; null when the database cannot be read. */
    public static Fact<Boolean> guarded(int port, String database) {
        // a guard of an earlier pgplay, which refused REFRESH MATERIALIZED VIEW too, counts as absent: it is replaced
        return Psql.fact("ddl guard", port, database, "SELECT count(*) FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid WHERE e.evtname = "
                + Psql.literal(TRIGGER) + " AND e.evtenabled <> 'D' AND p.prosrc LIKE '%REFRESH MATERIALIZED VIEW%'",
                rows -> !rows.isEmpty() && !"0".equals(rows.get(0).get(0)), null);
    }

    /** Whether a guard of pgplay's is in {@code database}, of any version, enabled or not: what {@link #off} removes. */
    static Fact<Boolean> anyGuard(int port, String database) {
        return Psql.fact("any ddl guard", port, database, "SELECT count(*) FROM pg_event_trigger WHERE evtname = " + Psql.literal(TRIGGER),
                rows -> !rows.isEmpty() && !"0".equals(rows.get(0).get(0)), null);
    }

    @Override
    Fact<Boolean> present(String database) {
        return wanted ? guarded(port, database) : anyGuard(port, database);
    }

    @Override
    String sql(String database) {
        // an old, disabled trigger of ours is replaced, not left half there
        return wanted ? REMOVE + INSTALL : REMOVE;
    }

    @Override
    Words words() {
        return new Words("DDL guarded in %d database(s)", "no DDL guard", "guard DDL in ", "lift the DDL guard in ");
    }
}
