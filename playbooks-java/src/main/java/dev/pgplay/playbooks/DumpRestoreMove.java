package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import java.util.ArrayList;
import java.util.List;

/** Moves the data by dump and restore into the new cluster running on its side port. A step of {@link Major}. */
final class DumpRestoreMove {
    private final Major run;

    DumpRestoreMove(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- dump and restore

    TaskResult startSide(HostContext ctx) throws Exception {
        if (run.status.done(Step.SWAPPED)) {
            return TaskResult.ok("swapped earlier in this upgrade");
        }
        Pg n = run.nextOn(ctx, run.sidePort());
        if (run.find(ctx, run.m.next().version()).map(PgFacts.Cluster::online).orElse(false)) {
            return TaskResult.ok("running on port " + run.sidePort());
        }
        return Imperative.of("start " + run.m.next().version() + "/" + run.cluster() + " on port " + run.sidePort(), List.of("pg_ctl start")).run(ctx, () -> {
            n.start();
            return TaskResult.changed("started on port " + run.sidePort(), List.of("pg_ctl start"));
        });
    }

    TaskResult copy(HostContext ctx) throws Exception {
        if (run.status.done(Step.COPIED)) {
            return TaskResult.ok("copied earlier in this upgrade");
        }
        run.pgUpgradeMove.resolveJobs(ctx);
        // postgres first: it is dropped and made anew on the new cluster before the others are restored
        List<String> dbs = new ArrayList<>(Psql.databases(ctx, run.port(), "datallowconn AND datname NOT IN ('template0', 'template1')"));
        if (dbs.remove("postgres")) {
            dbs.add(0, "postgres");
        }
        boolean parallel = run.parallel(ctx);
        return Imperative.of("copy " + dbs.size() + " database(s)", List.of(parallel ? "pg_dump -Fd -j" + run.jobs + " / pg_restore -j" + run.jobs : "pg_dumpall | psql")).run(ctx, () -> {
            String work = run.m.workDir();
            // processes of an interrupted run would write into what is redone now
            run.recovery.killLeftovers(ctx);
            Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", work));
            List<String> commands = new ArrayList<>();
            long t0 = System.nanoTime();
            String failed = parallel ? perDatabase(ctx, dbs, work, commands) : oneStream(ctx, commands);
            if (failed != null) {
                return TaskResult.failed(failed);
            }
            run.status.done(Step.COPIED, ctx);
            return TaskResult.changed("copied " + dbs.size() + " database(s) in " + (System.nanoTime() - t0) / 1_000_000 + " ms", commands);
        });
    }

    /** Everything in one pg_dumpall | psql stream; a stream cut before cannot continue: it starts over on an empty new cluster. Null when done. */
    private String oneStream(HostContext ctx, List<String> commands) throws Exception {
        if (run.status.done(Step.COPY_STARTED)) {
            Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", run.m.next().version(), run.cluster()));
            run.status.put(Key.NEW_CREATED, false).save(ctx);
            run.newCluster.newCluster(ctx);
            run.newCluster.carryConfig(ctx);
            startSide(ctx);
        }
        run.status.done(Step.COPY_STARTED, ctx);
        String script = "set -o pipefail\n\"$1/pg_dumpall\" -p \"$2\" | sed '/^CREATE ROLE postgres;$/d' | psql -X -q -v ON_ERROR_STOP=1 -p \"$3\" -d postgres >/dev/null";
        ExecResult r = Major.postgres(ctx, Cmd.of("bash", "-c", script, "bash", run.m.newBinDir(), String.valueOf(run.port()), String.valueOf(run.sidePort())));
        if (!r.ok()) {
            return "pg_dumpall | psql failed: " + RemoteCommandException.lastLines(r.stderr(), 4);
        }
        commands.add("pg_dumpall -p " + run.port() + " | psql -p " + run.sidePort());
        return null;
    }

    /** Roles and tablespaces, then each database not copied yet by pg_dump -Fd -j | pg_restore -j, recorded one by one. Null when done. */
    private String perDatabase(HostContext ctx, List<String> dbs, String work, List<String> commands) throws Exception {
        if (!run.status.done(Step.GLOBALS)) {
            String script = "set -o pipefail\n\"$1/pg_dumpall\" -p \"$2\" --globals-only | sed '/^CREATE ROLE postgres;$/d' > \"$4/globals.sql\"\n"
                    + "psql -X -q -p \"$3\" -d postgres -f \"$4/globals.sql\" 2>&1 >/dev/null | grep ERROR | grep -v 'already exists' && exit 1; exit 0";
            ExecResult r = Major.postgres(ctx, Cmd.of("bash", "-c", script, "bash", run.m.newBinDir(), String.valueOf(run.port()),
                    String.valueOf(run.sidePort()), work));
            if (!r.ok()) {
                return "roles and tablespaces (pg_dumpall --globals-only) could not be restored: " + RemoteCommandException.lastLines(r.stdout() + r.stderr(), 4);
            }
            run.status.done(Step.GLOBALS, ctx);
            commands.add("pg_dumpall --globals-only | psql");
        }
        int i = 0;
        for (String db : dbs) {
            i++;
            if (run.status.list(Key.DATABASES_DONE).contains(db)) {
                continue;
            }
            if (ctx.cancelled()) {
                return "cancelled before database " + db;
            }
            String failed = database(ctx, db, work + "/db-" + i);
            if (failed != null) {
                return failed;
            }
            run.status.add(Key.DATABASES_DONE, db).save(ctx);
            commands.add("pg_dump -Fd -j" + run.jobs + " " + db + " | pg_restore -j" + run.jobs);
        }
        return null;
    }

    /** One database: made empty on the new cluster, dumped into {@code dir}, restored, the dump removed. Null when done. */
    private String database(HostContext ctx, String db, String dir) {
        if (db.equals("postgres")) {
            Psql.run(ctx, run.sidePort(), "template1", Psql.dropDatabase("postgres", run.m.next().version()));
            Psql.run(ctx, run.sidePort(), "template1", "CREATE DATABASE postgres TEMPLATE template0");
        } else {
            Psql.run(ctx, run.sidePort(), "postgres", Psql.dropDatabase(db, run.m.next().version()));
        }
        String shown = db.replaceAll("\\p{Cntrl}", "?"); // a name read from the server: no control character reaches a terminal
        String size = Psql.value(ctx, run.port(), "SELECT pg_size_pretty(pg_database_size(" + Psql.literal(db) + "))");
        ctx.progress("database " + shown + ": pg_dump -Fd -j " + run.jobs + " (" + size + ")");
        ExecResult d = Major.postgres(ctx, Cmd.of("sh", "-c", "rm -rf \"$2\" && exec \"$1/pg_dump\" -p \"$3\" -Fd -Z0 -j \"$4\" -f \"$2\" \"$5\"",
                "sh", run.m.newBinDir(), dir, String.valueOf(run.port()), String.valueOf(run.jobs), Psql.conninfo(db)));
        if (!d.ok()) {
            return "pg_dump of database " + db + " failed: " + RemoteCommandException.lastLines(d.stderr(), 4);
        }
        ctx.progress("database " + shown + ": pg_restore -j " + run.jobs + " (" + size + ")");
        List<String> restore = new ArrayList<>(List.of(run.m.newBin("pg_restore"), "-p", String.valueOf(run.sidePort()), "-j", String.valueOf(run.jobs),
                "--exit-on-error", "-d", "postgres"));
        if (!db.equals("postgres")) {
            restore.add("-C");
        }
        restore.add(dir);
        ExecResult rr = Major.postgres(ctx, Cmd.of(restore));
        if (!rr.ok()) {
            return "pg_restore of database " + db + " failed: " + RemoteCommandException.lastLines(rr.stderr(), 4);
        }
        Pg.root(ctx, Cmd.of("rm", "-rf", dir));
        return null;
    }
}
