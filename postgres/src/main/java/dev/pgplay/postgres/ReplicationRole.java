package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import java.util.List;

/**
 * A role with REPLICATION LOGIN: made with a SCRAM verifier of its password (computed here, sent on
 * stdin, never shown), or given the attributes when it exists. An existing password is left alone.
 */
public final class ReplicationRole implements Operation {
    private final int port;
    private final String role;
    private final String password;

    private ReplicationRole(int port, String role, String password) {
        this.port = port;
        this.role = role;
        this.password = password;
    }

    public static ReplicationRole present(int port, String role, String password) {
        return new ReplicationRole(port, role, password);
    }

    /** "true true" for a role with REPLICATION and LOGIN, "" when there is no such role. */
    private Fact<String> attributes() {
        return Psql.fact("role " + role, port, "SELECT rolreplication::text || ' ' || rolcanlogin::text FROM pg_roles WHERE rolname = "
                + Psql.literal(role), rows -> rows.isEmpty() ? "" : rows.get(0).get(0), null);
    }

    @Override
    public Plan plan(HostContext ctx) {
        String found = ctx.fact(attributes());
        if (found == null) {
            throw new IllegalStateException(ctx.host().name() + ": cannot read the roles on port " + port + " (is the server running?)");
        }
        if ("true true".equals(found)) {
            return Plan.nothing("role " + role + " exists with REPLICATION LOGIN");
        }
        if (found.isEmpty()) {
            return Plan.of("create role " + role, Psql.step(port, "CREATE ROLE " + Psql.ident(role) + " WITH REPLICATION LOGIN PASSWORD "
                    + Psql.literal(Scram.verifier(password))));
        }
        return Plan.of("grant REPLICATION LOGIN to role " + role, Psql.step(port, "ALTER ROLE " + Psql.ident(role) + " WITH REPLICATION LOGIN"));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(attributes());
    }
}
