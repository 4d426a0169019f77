package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.Interactive;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One psql session kept open as postgres in one database, fed statement by statement: a request
 * costs a network round trip instead of an SSH channel, sudo and a psql start. Opened before a
 * critical window so the window itself is a few round trips. Stops at the first error (the
 * session is then unusable, and says why).
 */
public final class KeptPsql implements AutoCloseable {
    private static final String SEP = "\u001f";
    private static final String MARK = "__pgplay_done__";
    private static final String PART = "__pgplay_part__";

    private final String where;
    private final String database;
    private final Interactive psql;
    private final String pid;

    private KeptPsql(String where, String database, Interactive psql, String pid) {
        this.where = where;
        this.database = database;
        this.psql = psql;
        this.pid = pid;
    }

    /** A session in {@code database} on the cluster at {@code port} ({@code prelude} runs first, e.g. "SET ..."). */
    public static KeptPsql open(HostContext ctx, int port, String database, String prelude) {
        return open(ctx, 0, port, database, prelude);
    }

    /** {@link #open(HostContext, int, String, String)} on another connection to the host ({@link HostContext#connection(int)}). */
    public static KeptPsql open(HostContext ctx, int lane, int port, String database, String prelude) {
        Interactive psql = ctx.connection(lane).interactive(Cmd.of("psql", "-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1",
                "-p", String.valueOf(port), "-d", Psql.conninfo(database)), ExecOptions.as("postgres").timeout(Duration.ofSeconds(15)));
        try {
            List<List<String>> r = request(psql, Psql.SESSION + prelude + "SELECT pg_backend_pid();", Duration.ofSeconds(15));
            return new KeptPsql(ctx.host().name() + ":" + port + "/", database, psql, r.get(r.size() - 1).get(0));
        } catch (RuntimeException e) {
            psql.close();
            throw e;
        }
    }

    /** Runs SQL; the rows it printed, fields split. */
    public List<List<String>> rows(String sql, Duration limit) {
        return request(psql, sql, limit);
    }

    /** Runs SQL (at most a minute); the first field of the last row it printed, "" when none. */
    public String value(String sql) {
        List<List<String>> r = rows(sql, Duration.ofMinutes(1));
        return r.isEmpty() ? "" : r.get(r.size() - 1).get(0);
    }

    /**
     * Moves this session to another database (psql's {@code \connect}: a new server connection, the
     * same psql and SSH channel); {@code prelude} runs there first. The server process changes:
     * {@link #pid} is the new one.
     */
    public KeptPsql connect(String database, String prelude) {
        List<List<String>> r = request(psql, connectTo(database) + Psql.SESSION + prelude
                + "SELECT pg_backend_pid();", Duration.ofSeconds(15));
        return new KeptPsql(where, database, psql, r.get(r.size() - 1).get(0));
    }

    /** SQL to run in one database, as part of a {@link #script}. */
    public record Part(String database, String sql) {
    }

    /** What a {@link #script} printed, part by part, and the session to go on with (in the last part's database). */
    public record Script(KeptPsql session, List<List<List<String>>> rows) {
    }

    /**
     * Runs the parts in order in one request, so many databases cost one round trip: psql's
     * {@code \connect} where the database changes, {@code prelude} first in each new connection.
     * Stops at the first error. The server process changes with each connection: go on with the
     * returned session (its {@link #pid} is the last one).
     */
    public Script script(List<Part> parts, String prelude, Duration limit) {
        StringBuilder sql = new StringBuilder();
        String at = database;
        for (Part p : parts) {
            if (!p.database().equals(at)) {
                sql.append(connectTo(p.database())).append(Psql.SESSION).append(prelude);
                at = p.database();
            }
            String statement = p.sql().strip();
            sql.append(statement.isEmpty() || statement.endsWith(";") ? statement : statement + ";").append("\n\\echo ").append(PART).append('\n');
        }
        sql.append("SELECT pg_backend_pid();");
        List<List<List<String>>> out = new ArrayList<>();
        List<List<String>> current = new ArrayList<>();
        for (List<String> row : request(psql, sql.toString(), limit)) {
            if (row.size() == 1 && row.get(0).equals(PART)) {
                out.add(current);
                current = new ArrayList<>();
            } else {
                current.add(row);
            }
        }
        if (out.size() != parts.size() || current.size() != 1) {
            throw new IllegalStateException(where + Psql.ident(database) + ": a script of " + parts.size() + " part(s) printed " + out.size());
        }
        return new Script(new KeptPsql(where, at, psql, current.get(0).get(0)), List.copyOf(out));
    }

    /**
     * psql lines that move a session to {@code database}. Not {@code \connect 'dbname=...'}: psql
     * reads \connect's argument as an SQL identifier and drops a double quote inside it (a database
     * named {@code x"; DROP} became {@code x; DROP}). The conninfo goes through a variable, which
     * {@code :"..."} hands over as a quoted identifier, so it arrives whole.
     */
    static String connectTo(String database) {
        return "\\set pgplay_connect " + metaQuote(Psql.conninfo(database)) + "\n\\connect :\"pgplay_connect\"\n";
    }

    /** A psql meta-command argument in single quotes: backslashes and quotes doubled, a newline as an escape. */
    static String metaQuote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n").replace("\r", "\\r") + "'";
    }

    /** The server process of this session (to spare it when ending everyone else's). */
    public String pid() {
        return pid;
    }

    /** The database this session is in. */
    public String database() {
        return database;
    }

    @Override
    public String toString() {
        return where + Psql.ident(database);
    }

    private static List<List<String>> request(Interactive psql, String sql, Duration limit) {
        List<List<String>> out = new ArrayList<>();
        // psql runs a statement when its ';' arrives; the marker is echoed only after it ran
        String statement = sql.strip().endsWith(";") ? sql : sql + ";";
        for (String line : psql.request(statement + "\n\\echo " + MARK + "\n", MARK, limit)) {
            if (!line.isEmpty()) {
                out.add(List.of(line.split(SEP, -1)));
            }
        }
        return out;
    }

    @Override
    public void close() {
        psql.close();
    }
}
