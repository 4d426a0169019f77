package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import java.util.List;
import java.util.stream.Collectors;

/** The functions pg_rewind needs from a non-superuser source connection (PostgreSQL docs, pg_rewind), granted to a role. */
public final class RewindGrants implements Operation {
    public static final List<String> FUNCTIONS = List.of("pg_catalog.pg_ls_dir(text, boolean, boolean)",
            "pg_catalog.pg_stat_file(text, boolean)", "pg_catalog.pg_read_binary_file(text)",
            "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)");

    private final int port;
    private final String role;

    private RewindGrants(int port, String role) {
        this.port = port;
        this.role = role;
    }

    public static RewindGrants to(int port, String role) {
        return new RewindGrants(port, role);
    }

    /** The functions the role may not execute yet (all of them while the role does not exist). */
    private Fact<List<String>> missing() {
        String functions = FUNCTIONS.stream().map(Psql::literal).collect(Collectors.joining(", "));
        String sql = "SELECT f FROM unnest(ARRAY[" + functions + "]::text[]) AS f WHERE CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                + Psql.literal(role) + ") THEN NOT has_function_privilege(" + Psql.literal(role) + ", f, 'EXECUTE') ELSE true END";
        return Psql.fact("functions pg_rewind lacks for " + role, port, sql, rows -> rows.stream().map(r -> r.get(0)).toList(), null);
    }

    @Override
    public Plan plan(HostContext ctx) {
        List<String> missing = ctx.fact(missing());
        if (missing == null) {
            throw new IllegalStateException(ctx.host().name() + ": cannot read function privileges on port " + port + " (is the server running?)");
        }
        if (missing.isEmpty()) {
            return Plan.nothing("granted");
        }
        String sql = missing.stream().map(f -> "GRANT EXECUTE ON FUNCTION " + f + " TO " + Psql.ident(role) + ";\n").collect(Collectors.joining());
        return Plan.of("grant " + missing.size() + " function(s) to " + role, Psql.step(port, sql));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(missing());
    }
}
