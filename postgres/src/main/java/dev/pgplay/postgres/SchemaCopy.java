package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Roles and schemas from one cluster to another, possibly on another host: dumped on the source
 * as postgres (peer authentication, no password anywhere) with the target major's pg_dump, carried
 * through the controller, restored by psql on the target from stdin. Rows are not copied here
 * (logical replication does that). Schemas are small; a dump is held in memory on its way.
 */
public final class SchemaCopy {
    private SchemaCopy() {
    }

    /** The role every cluster has; its own line of the dump would fail on the target. */
    static final String CREATE_POSTGRES = "CREATE ROLE postgres;";

    /** Every session of the restore (a dump's \\connect included) may write on a target that is read-only for everyone else. */
    static final String WRITABLE = "PGOPTIONS=-c default_transaction_read_only=off";

    /**
     * Roles (with their password verifiers) and role settings of the source onto the target. A
     * role the target has already is left as it is ("already exists" is not a failure); any other
     * error is, with psql's lines.
     */
    public static void globals(HostContext source, int sourcePort, String binDir, HostContext target, int targetPort) {
        ExecResult dump = source.connection().exec(Cmd.of(binDir + "/pg_dumpall", "-p", String.valueOf(sourcePort), "--globals-only"),
                ExecOptions.as("postgres").timeout(Duration.ofMinutes(10))).check(source.host().name());
        String sql = dump.stdout().lines().filter(l -> !l.equals(CREATE_POSTGRES)).collect(Collectors.joining("\n", "", "\n"));
        ExecResult r = target.connection().exec(Cmd.of("env", WRITABLE, "psql", "-X", "-q", "-p", String.valueOf(targetPort), "-d", "postgres"),
                ExecOptions.as("postgres").timeout(Duration.ofMinutes(10)).stdin(sql.getBytes(StandardCharsets.UTF_8)));
        List<String> errors = r.stderr().lines().filter(l -> l.contains("ERROR") && !l.contains("already exists")).toList();
        if (!r.ok() || !errors.isEmpty()) {
            throw new IllegalStateException(target.host().name() + ": the roles of " + source.host().name() + " could not be restored: "
                    + RemoteCommandException.lastLines(String.join("\n", errors.isEmpty() ? List.of(r.stderr()) : errors), 4));
        }
    }

    /**
     * The schema of {@code database} onto the target: with the database itself ({@code create}
     * true: CREATE DATABASE with the source's encoding, locale and settings) or into a database the
     * target has (false). Stops at the first error.
     */
    public static void schema(HostContext source, int sourcePort, String database, String binDir, HostContext target, int targetPort,
                              boolean create) {
        Cmd dump = create
                ? Cmd.of(binDir + "/pg_dump", "-p", String.valueOf(sourcePort), "--schema-only", "--create", "-d", Psql.conninfo(database))
                : Cmd.of(binDir + "/pg_dump", "-p", String.valueOf(sourcePort), "--schema-only", "-d", Psql.conninfo(database));
        ExecResult d = source.connection().exec(dump, ExecOptions.as("postgres").timeout(Duration.ofMinutes(30))).check(source.host().name());
        ExecResult r = target.connection().exec(Cmd.of("env", WRITABLE, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", String.valueOf(targetPort), "-d",
                        create ? "postgres" : Psql.conninfo(database)),
                ExecOptions.as("postgres").timeout(Duration.ofMinutes(30)).stdin(d.stdout().getBytes(StandardCharsets.UTF_8)));
        if (!r.ok()) {
            throw new IllegalStateException(target.host().name() + ": the schema of database " + Psql.ident(database) + " could not be restored: "
                    + RemoteCommandException.lastLines(r.stderr(), 4));
        }
    }
}
