package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * SQL on a host's PostgreSQL through {@code psql} as the postgres user (peer authentication over
 * the local socket, no password needed). The SQL travels on stdin, never on a command line, so a
 * password inside it does not reach the process list. Values are quoted with {@link #literal} and
 * {@link #ident}.
 */
public final class Psql {
    static final String SEP = "\u001f";

    private Psql() {
    }

    /** Runs SQL (one or more statements) and returns the rows of the last result, fields split. */
    public static List<List<String>> rows(HostContext ctx, int port, String sql) {
        return rows(ctx, port, "postgres", sql);
    }

    /** Runs SQL (psql meta-commands such as {@code \gexec} allowed) in {@code database}; rows of every result, fields split. */
    public static List<List<String>> rows(HostContext ctx, int port, String database, String sql) {
        return rows(ctx, port, database, sql, Duration.ofMinutes(10));
    }

    /** {@link #rows(HostContext, int, String, String)} within a time limit sized by the caller's work. */
    public static List<List<String>> rows(HostContext ctx, int port, String database, String sql, Duration limit) {
        return rows(run(ctx, port, database, sql, limit).stdout());
    }

    /**
     * Runs SQL in each of {@code databases} through one psql ({@code \connect} from one to the
     * next), so a cluster's databases cost one round trip, not one each; returns each database's
     * rows. A row naming the database that follows is printed between them: a random marker, so
     * no row of the SQL can pass for one.
     */
    public static java.util.Map<String, List<List<String>>> rowsPerDatabase(HostContext ctx, int port, List<String> databases,
            Function<String, String> sql, Duration limit) {
        java.util.Map<String, List<List<String>>> out = new java.util.LinkedHashMap<>();
        if (databases.isEmpty()) {
            return out;
        }
        String marker = "pgplay-database-" + java.util.UUID.randomUUID();
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < databases.size(); i++) {
            String db = databases.get(i);
            if (i > 0) {
                script.append(KeptPsql.connectTo(db)).append(SESSION);
            }
            String part = sql.apply(db).strip();
            script.append("SELECT '").append(marker).append("', ").append(i).append(";\n")
                    .append(part.isEmpty() || part.endsWith(";") || part.endsWith("\\gexec") ? part : part + ";").append('\n');
            out.put(db, new ArrayList<>());
        }
        List<List<String>> current = null;
        for (List<String> row : rows(run(ctx, port, databases.get(0), script.toString(), limit).stdout())) {
            if (row.size() == 2 && row.get(0).equals(marker)) {
                current = out.get(databases.get(Integer.parseInt(row.get(1))));
            } else if (current == null) {
                throw new IllegalStateException("psql on port " + port + ": a row before the first database's marker");
            } else {
                current.add(row);
            }
        }
        return out;
    }

    /** Runs SQL and returns the single value it printed (trimmed), "" when none. */
    public static String value(HostContext ctx, int port, String sql) {
        return run(ctx, port, "postgres", sql).out();
    }

    /** Runs SQL in a given database (10 minutes at most); fails with psql's error. */
    public static ExecResult run(HostContext ctx, int port, String database, String sql) {
        return run(ctx, port, database, sql, Duration.ofMinutes(10));
    }

    /**
     * Runs SQL in a given database within {@code limit}; fails with psql's error. The database
     * name is passed as a quoted {@code dbname=} value, never as a connection string of its own
     * (a database can be named {@code host=elsewhere user=replicator}); the session sets
     * standard_conforming_strings, which {@link #literal} relies on.
     */
    public static ExecResult run(HostContext ctx, int port, String database, String sql, Duration limit) {
        Cmd cmd = command(port, database);
        ExecResult r = ctx.connection().exec(cmd, ExecOptions.as("postgres").timeout(limit)
                .stdin((SESSION + sql).getBytes(StandardCharsets.UTF_8)));
        if (!r.ok()) {
            throw new IllegalStateException(ctx.host().name() + ": psql on port " + port + ": " + r.stderr().strip());
        }
        return r;
    }

    /** What every psql session of pgplay sets first (prints nothing). */
    static final String SESSION = "SET standard_conforming_strings = on;\n";

    /**
     * A session of pgplay's own that may write on a server whose writes are blocked
     * ({@code default_transaction_read_only = on} for everyone else): the blue-green operations
     * and the sequence positions set at a switch.
     */
    public static final String WRITABLE = "SET default_transaction_read_only = off;\n";

    /**
     * A libpq connection string that names only the database: {@code dbname='...'} with quotes
     * and backslashes escaped, for any tool's {@code -d} (psql, pg_dump, vacuumdb).
     */
    public static String conninfo(String database) {
        if (database.isEmpty() || database.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad database name");
        }
        return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /**
     * SQL that yields a text column as hex of its UTF-8 bytes, for names read from the server
     * (they may hold newlines or the field separator); {@link #unhex} gives the name back.
     */
    public static String hex(String column) {
        return "encode(convert_to(" + column + ", 'UTF8'), 'hex')";
    }

    public static String unhex(String hex) {
        return new String(java.util.HexFormat.of().parseHex(hex.trim()), StandardCharsets.UTF_8);
    }

    /** The names of the databases that {@code where} (an SQL condition on pg_database) selects, in name order. */
    public static List<String> databases(HostContext ctx, int port, String where) {
        return names(rows(ctx, port, databasesQuery(where)));
    }

    /** The query of {@link #databases}: names as hex, in name order. */
    static String databasesQuery(String where) {
        return "SELECT " + hex("datname") + " FROM pg_database WHERE " + where + " ORDER BY datname";
    }

    /** The first column of each row, read back from hex. */
    static List<String> names(List<List<String>> rows) {
        List<String> out = new ArrayList<>();
        for (List<String> row : rows) {
            out.add(unhex(row.get(0)));
        }
        return out;
    }

    /** An SQL string literal ({@code 'it''s'}); pgplay's sessions set standard_conforming_strings. */
    public static String literal(String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("SQL literal cannot contain NUL");
        }
        return "'" + value.replace("'", "''") + "'";
    }

    /**
     * SQL that drops database {@code name} of a cluster pgplay made, if it exists: with
     * {@code (FORCE)} from major 13 on, so a session left there (a monitoring client) is ended
     * rather than failing the drop.
     */
    public static String dropDatabase(String name, String major) {
        boolean force = major.matches("\\d+") && Integer.parseInt(major) >= 13;
        return "DROP DATABASE IF EXISTS " + ident(name) + (force ? " WITH (FORCE)" : "") + ";\n";
    }

    /** An SQL identifier ({@code "My ""Role"""}). */
    public static String ident(String name) {
        if (name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad SQL identifier");
        }
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** An LSN such as {@code 0/3000148} as a number, for comparisons. */
    public static long lsn(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an LSN: '" + text + "'");
        }
        return (Long.parseLong(t.substring(0, slash), 16) << 32) | Long.parseLong(t.substring(slash + 1), 16);
    }

    /** An LSN as PostgreSQL prints it (X/Y), or ? when unknown (negative). */
    public static String lsnText(long lsn) {
        return lsn < 0 ? "?" : Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }

    private static Cmd command(int port, String database) {
        return Cmd.of("psql", "-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-p", String.valueOf(port), "-d", conninfo(database));
    }

    /** Rows of psql's output, fields split. */
    static List<List<String>> rows(String stdout) {
        List<List<String>> out = new ArrayList<>();
        for (String line : stdout.split("\n")) {
            if (!line.isEmpty()) {
                out.add(List.of(line.split(SEP, -1)));
            }
        }
        return out;
    }

    /**
     * A fact read by a query as postgres in the postgres database on {@code port}: the query on
     * stdin, the rows to {@code parser}; {@code fallback} when psql fails (the server is down).
     */
    public static <T> Fact<T> fact(String name, int port, String sql, Function<List<List<String>>, T> parser, T fallback) {
        return fact(name, port, "postgres", sql, parser, fallback);
    }

    /** {@link #fact(String, int, String, Function, Object)} read in {@code database}; its name says which (hex, so any name keeps facts apart). */
    public static <T> Fact<T> fact(String name, int port, String database, String sql, Function<List<List<String>>, T> parser, T fallback) {
        String key = "postgres".equals(database) ? "" : " db " + java.util.HexFormat.of().formatHex(database.getBytes(StandardCharsets.UTF_8));
        return Fact.asUser("postgres", name + " (port " + port + key + ")", command(port, database), r -> parser.apply(rows(r.stdout())), fallback)
                .withInput(SESSION + sql);
    }

    /** A step that runs SQL as postgres in the postgres database on {@code port}, the SQL on stdin. */
    public static Step step(int port, String sql) {
        return step(port, "postgres", sql);
    }

    /** A step that runs SQL as postgres in {@code database} on {@code port}, the SQL on stdin. */
    public static Step step(int port, String database, String sql) {
        return Step.as("postgres", command(port, database)).withInput(SESSION + sql);
    }
}
