package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.Step;
import java.util.ArrayList;
import java.util.List;

/**
 * The data moved across servers: roles and tablespaces (pg_dumpall --globals-only, without the
 * copy's own role), then each database by pg_dump -Fd -j on the target against the source and
 * pg_restore -j into the target's cluster, each recorded once done, so a re-run after a lost
 * controller goes on with the next. The commands run in a systemd unit on the target, so a lost
 * controller does not cut them. A step of {@link Move}.
 */
final class MoveCopy {
    /** The target's cluster is read-only until the switch: the restore's sessions may write. */
    private static final String WRITABLE = "PGOPTIONS='-c default_transaction_read_only=off'";

    private final Move run;

    MoveCopy(Move run) {
        this.run = run;
    }

    TaskResult copy(HostContext ctx) throws Exception {
        if (run.status.done(Step.COPIED)) {
            return TaskResult.ok("copied earlier in this move");
        }
        run.resolveJobs(ctx);
        // postgres first: it is dropped and made anew on the target before the others are restored
        List<String> dbs = new ArrayList<>(Psql.databases(ctx, run.port(), "datallowconn AND datname NOT IN ('template0', 'template1')"));
        if (dbs.remove("postgres")) {
            dbs.add(0, "postgres");
        }
        String what = "pg_dump -Fd -j" + run.jobs + " on " + run.m.target() + " / pg_restore -j" + run.jobs;
        return Imperative.of("copy " + dbs.size() + " database(s) to " + run.m.target(), List.of(what)).run(ctx, () -> {
            HostContext t = run.target(ctx);
            Pg.root(t, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", run.m.workDir()));
            List<String> commands = new ArrayList<>();
            long t0 = System.nanoTime();
            String failed = globals(ctx, t, commands);
            int i = 0;
            for (String db : dbs) {
                i++;
                if (failed != null) {
                    break;
                }
                if (run.status.list(Key.DATABASES_DONE).contains(db)) {
                    continue;
                }
                if (ctx.cancelled()) {
                    failed = "cancelled before database " + db;
                    break;
                }
                failed = database(ctx, t, db, run.m.workDir() + "/db-" + i);
                if (failed == null) {
                    run.status.add(Key.DATABASES_DONE, db).save(ctx);
                    commands.add("pg_dump -Fd -j" + run.jobs + " " + db + " | pg_restore -j" + run.jobs);
                }
            }
            if (failed != null) {
                return TaskResult.failed(failed);
            }
            Pg.root(t, Cmd.of("rm", "-rf", run.m.workDir()));
            run.status.done(Step.COPIED, ctx);
            return TaskResult.changed("copied " + dbs.size() + " database(s) in " + (System.nanoTime() - t0) / 1_000_000 + " ms", commands);
        });
    }

    /** Roles and tablespaces, once; null when done. */
    private String globals(HostContext ctx, HostContext t, List<String> commands) {
        if (run.status.done(Step.GLOBALS)) {
            return null;
        }
        String script = "set -o pipefail\nexport PGPASSFILE=\"$1\"\n"
                + "\"$2/pg_dumpall\" -d \"$3\" --globals-only | sed -E '/^CREATE ROLE postgres;$/d; /^(CREATE|ALTER) ROLE " + MoveAccess.ROLE
                + "[ ;]/d' > \"$4/globals.sql\"\n"
                + WRITABLE + " \"$2/psql\" -X -q -p \"$5\" -d postgres -f \"$4/globals.sql\" 2>&1 >/dev/null | grep ERROR | grep -v 'already exists' && exit 1; exit 0";
        ExecResult r = Major.postgres(t, Cmd.of("bash", "-c", script, "bash", MoveAccess.PGPASS, run.m.newBinDir(), run.access.conninfo(ctx, "postgres"),
                run.m.workDir(), String.valueOf(run.port())));
        if (!r.ok()) {
            return "roles and tablespaces (pg_dumpall --globals-only) could not be restored on " + run.m.target() + ": "
                    + RemoteCommandException.lastLines(r.stdout() + r.stderr(), 4);
        }
        run.status.done(Step.GLOBALS, ctx);
        commands.add("pg_dumpall --globals-only | psql");
        return null;
    }

    /** One database: made empty on the target, dumped there from the source into {@code dir}, restored, the dump removed. Null when done. */
    private String database(HostContext ctx, HostContext t, String db, String dir) {
        if (db.equals("postgres")) {
            Psql.run(t, run.port(), "template1", Psql.WRITABLE + Psql.dropDatabase("postgres", run.m.next().version()));
            Psql.run(t, run.port(), "template1", Psql.WRITABLE + "CREATE DATABASE postgres TEMPLATE template0");
        } else {
            Psql.run(t, run.port(), "postgres", Psql.WRITABLE + Psql.dropDatabase(db, run.m.next().version()));
        }
        String shown = db.replaceAll("\\p{Cntrl}", "?"); // a name read from the server: no control character reaches a terminal
        String size = Psql.value(ctx, run.port(), "SELECT pg_size_pretty(pg_database_size(" + Psql.literal(db) + "))");
        t.progress("database " + shown + ": pg_dump -Fd -j " + run.jobs + " from " + run.m.old().primary() + " (" + size + ")");
        ExecResult d = Major.postgres(t, Cmd.of("sh", "-c", "rm -rf \"$2\" && PGPASSFILE=\"$5\" exec \"$1/pg_dump\" -Fd -Z0 -j \"$3\" -f \"$2\" -d \"$4\"",
                "sh", run.m.newBinDir(), dir, String.valueOf(run.jobs), run.access.conninfo(ctx, db), MoveAccess.PGPASS));
        if (!d.ok()) {
            return "pg_dump of database " + db + " failed: " + RemoteCommandException.lastLines(d.stderr(), 4);
        }
        t.progress("database " + shown + ": pg_restore -j " + run.jobs + " (" + size + ")");
        ExecResult r = Major.postgres(t, Cmd.of("sh", "-c", WRITABLE + " exec \"$1/pg_restore\" -p \"$2\" -j \"$3\" --exit-on-error -d postgres $4 \"$5\"",
                "sh", run.m.newBinDir(), String.valueOf(run.port()), String.valueOf(run.jobs), db.equals("postgres") ? "" : "-C", dir));
        if (!r.ok()) {
            return "pg_restore of database " + db + " failed: " + RemoteCommandException.lastLines(r.stderr(), 4);
        }
        Pg.root(t, Cmd.of("rm", "-rf", dir));
        return null;
    }
}
