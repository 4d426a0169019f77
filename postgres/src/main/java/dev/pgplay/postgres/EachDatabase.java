package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An operation that makes one thing present (or absent) in each database of a cluster: a fact per
 * database says whether it is there, and only the databases that differ get a step. The databases
 * are the named ones, or every one that takes connections.
 */
abstract class EachDatabase implements Operation {
    final int port;
    final boolean wanted;
    private final List<String> named;

    /** {@code named} null: every database that takes connections and is not a template. */
    EachDatabase(int port, boolean wanted, List<String> named) {
        this.port = port;
        this.wanted = wanted;
        this.named = named == null ? null : List.copyOf(named);
    }

    /** Whether the thing is in {@code database}; null when the database cannot be read. */
    abstract Fact<Boolean> present(String database);

    /** The SQL that makes {@code database} as wanted. */
    abstract String sql(String database);

    /** What the results say: all present ("published in %d database(s)"), all absent, then the changes before the databases' names. */
    record Words(String allPresent, String allAbsent, String make, String remove) {
    }

    abstract Words words();

    /** The databases a blue-green upgrade replicates (an SQL condition on pg_database): every one that takes connections and is not a template. */
    static final String REPLICATED = "datallowconn AND NOT datistemplate";

    /** The schemas whose tables are replicated (an SQL condition on pg_namespace {@code n}): all but the system's. */
    static final String USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
            + " AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

    /** The {@link #REPLICATED} databases, in name order. */
    static Fact<List<String>> databases(int port) {
        return Psql.fact("databases", port, Psql.databasesQuery(REPLICATED), Psql::names, null);
    }

    private List<String> databases(HostContext ctx) {
        if (named != null) {
            return named;
        }
        List<String> dbs = ctx.fact(databases(port));
        if (dbs == null) {
            throw new IllegalStateException(ctx.host().name() + ": cannot list the databases on port " + port + " (is the server running?)");
        }
        return dbs;
    }

    @Override
    public Plan plan(HostContext ctx) {
        List<String> dbs = databases(ctx);
        List<Step> steps = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String db : dbs) {
            Boolean has = ctx.fact(present(db));
            if (has == null) {
                throw new IllegalStateException(ctx.host().name() + ": cannot read database " + Psql.ident(db) + " on port " + port
                        + " (is the server running, does the database exist?)");
            }
            if (has != wanted) {
                steps.add(Psql.step(port, db, Psql.WRITABLE + sql(db))); // past a switch's write block too
                names.add(Psql.ident(db));
            }
        }
        Words w = words();
        if (steps.isEmpty()) {
            return Plan.nothing(wanted ? String.format(w.allPresent(), dbs.size()) : w.allAbsent());
        }
        return new Plan(steps, (wanted ? w.make() : w.remove()) + String.join(", ", names), Optional.empty());
    }

    @Override
    public void forgetChanges(HostContext ctx) {
        List<String> dbs = named != null ? named : ctx.fact(databases(port));
        if (dbs != null) {
            dbs.forEach(db -> ctx.forget(present(db)));
        }
    }
}
