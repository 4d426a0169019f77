package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;

/**
 * SELECT on every table of every database, and USAGE on their schemas, for the role a
 * subscription connects as: its initial copy reads each table. The role is the replication user,
 * which reads the whole cluster through physical replication already, so this widens nothing.
 * The grants are made on the server from the catalog ({@code format('%I')}): no schema name
 * leaves it. Made past the {@link DdlGuard}.
 */
public final class LogicalGrants extends EachDatabase {
    private final String role;

    private LogicalGrants(int port, String role) {
        super(port, true, null);
        this.role = role;
    }

    /** {@code role} may read every table of every database on the cluster at {@code port}. */
    public static LogicalGrants present(int port, String role) {
        return new LogicalGrants(port, role);
    }

    /** Whether {@code role} reads every table of {@code database}; null when it cannot be read. */
    public static Fact<Boolean> granted(int port, String database, String role) {
        return Psql.fact("select grants of " + role, port, database, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE c.relkind IN ('r', 'p') AND " + USER_SCHEMAS + " AND NOT has_table_privilege(" + Psql.literal(role) + ", c.oid, 'SELECT')",
                rows -> !rows.isEmpty() && "0".equals(rows.get(0).get(0)), null);
    }

    @Override
    Fact<Boolean> present(String database) {
        return granted(port, database, role);
    }

    @Override
    String sql(String database) {
        return "SET pgplay.allow_ddl = on;\n"
                + "DO $pgplay$ DECLARE s name; BEGIN\n"
                + "  FOR s IN SELECT n.nspname FROM pg_namespace n WHERE " + USER_SCHEMAS + " LOOP\n"
                + "    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, " + Psql.literal(role) + ");\n"
                + "    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s, " + Psql.literal(role) + ");\n"
                + "  END LOOP;\n"
                + "END $pgplay$;\n";
    }

    @Override
    Words words() {
        return new Words(role + " reads every table of %d database(s)", "", "let " + role + " read every table of ", "");
    }
}
