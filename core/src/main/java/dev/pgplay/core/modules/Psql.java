package dev.pgplay.core.modules;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
        ExecResult r = run(ctx, port, database, sql);
        List<List<String>> out = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            if (!line.isEmpty()) {
                out.add(List.of(line.split(SEP, -1)));
            }
        }
        return out;
    }

    /** Runs SQL and returns the single value it printed (trimmed), "" when none. */
    public static String value(HostContext ctx, int port, String sql) {
        return run(ctx, port, "postgres", sql).out();
    }

    /** Runs SQL in a given database; fails with psql's error. */
    public static ExecResult run(HostContext ctx, int port, String database, String sql) {
        Cmd cmd = Cmd.of("psql", "-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-p", String.valueOf(port), "-d", database);
        ExecResult r = ctx.connection().exec(cmd, ExecOptions.as("postgres").timeout(Duration.ofMinutes(10))
                .stdin(sql.getBytes(StandardCharsets.UTF_8)));
        if (!r.ok()) {
            throw new IllegalStateException("psql on port " + port + ": " + r.stderr().strip());
        }
        return r;
    }

    /** An SQL string literal ({@code 'it''s'}); standard_conforming_strings is on since 9.1. */
    public static String literal(String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("SQL literal cannot contain NUL");
        }
        return "'" + value.replace("'", "''") + "'";
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
}
