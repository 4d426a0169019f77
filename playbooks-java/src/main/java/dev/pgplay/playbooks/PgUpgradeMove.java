package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Moves the data with pg_upgrade (copy, link or clone): --check, the old cluster stopped cleanly, pg_upgrade. A step of {@link Major}. */
final class PgUpgradeMove {
    private final Major run;

    PgUpgradeMove(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- pg_upgrade

    List<String> pgUpgradeArgs(boolean check) {
        // from 15 on, pg_upgrade's own sync (an fsync of every file of the new cluster, one by one) gives way to
        // syncfs of the file systems the new cluster lives on (data directory, pg_wal, tablespaces), as
        // --sync-method=syncfs does from 17: the same durability before anything starts it, in less time
        boolean syncfs = !check && Integer.parseInt(run.m.next().version()) >= 15;
        String newData = run.status.get(Key.NEW_DATA, "/var/lib/postgresql/" + run.m.next().version() + "/" + run.cluster());
        String wrapper = syncfs ? "cd \"$1\" && d=$2 && shift 2 && \"$@\" && sync -f \"$d\" \"$d/pg_wal/\" "
                + "&& for t in \"$d\"/pg_tblspc/*/; do [ ! -d \"$t\" ] || sync -f \"$t\" || exit 1; done"
                : "cd \"$1\" && shift 2 && exec \"$@\"";
        List<String> a = new ArrayList<>(List.of("sh", "-c", wrapper, "sh", run.m.workDir(), newData, run.m.newBin("pg_upgrade"),
                "-b", run.m.oldBinDir(), "-B", run.m.newBinDir(), "-d", run.status.get(Key.OLD_DATA, "OLD-DATA"),
                "-D", newData,
                "-o", "-c config_file=" + run.m.old().confDir() + "/postgresql.conf", "-O", "-c config_file=" + run.m.next().confDir() + "/postgresql.conf",
                "-p", String.valueOf(run.port()), "-P", run.sidePort() > 0 ? String.valueOf(run.sidePort()) : "SIDE-PORT", "-j", String.valueOf(run.jobs)));
        if (!run.m.method().equals("copy")) {
            a.add("--" + run.m.method()); // copying is the default; --copy exists only from PostgreSQL 16
        }
        if (check) {
            a.add("--check");
        }
        if (syncfs) {
            a.add("--no-sync");
        }
        return a;
    }

    void resolveJobs(HostContext ctx) {
        if (run.jobs == 0) {
            run.jobs = run.m.jobs() > 0 ? run.m.jobs() : Integer.parseInt(ctx.connection().exec(Cmd.of("nproc"), ExecOptions.DEFAULT).check(ctx.host().name()).out());
        }
    }

    TaskResult check(HostContext ctx) throws Exception {
        if (run.status.done(Step.OLD_STOPPED)) {
            return TaskResult.ok("passed in the run being resumed (the old cluster is stopped now)");
        }
        resolveJobs(ctx);
        return Imperative.of("run pg_upgrade --check", List.of(String.join(" ", pgUpgradeArgs(true)))).run(ctx, () -> {
            Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", run.m.workDir()));
            ExecResult r = Major.postgres(ctx, Cmd.of(pgUpgradeArgs(true)));
            List<String> report = r.stdout().lines().filter(l -> !l.isBlank()).toList();
            if (!r.ok()) {
                return TaskResult.failed("pg_upgrade --check failed; nothing was changed on " + run.m.old().version() + ": "
                        + RemoteCommandException.lastLines(r.stdout() + "\n" + r.stderr(), 6) + " (details in " + run.m.workDir() + " and "
                        + run.status.get(Key.NEW_DATA) + "/pg_upgrade_output.d)", Map.of("report", report));
            }
            run.status.done(Step.CHECKED, ctx);
            return TaskResult.ok("Clusters are compatible", Map.of("report", report));
        });
    }

    TaskResult stopOld(HostContext ctx) throws Exception {
        if (run.status.done(Step.OLD_STOPPED)) {
            return TaskResult.ok("stopped earlier in this upgrade");
        }
        return Imperative.of("stop " + run.m.old().version() + "/" + run.cluster(), List.of("pg_ctl stop -m fast")).run(ctx, () -> {
            // nothing may start the old cluster while its data is being upgraded (a reboot, a package's postinst):
            // start.conf manual first; the swap keeps it manual, going back makes it auto again
            run.cutOver.startConf(ctx, run.m.old().version(), "manual");
            Map<String, String> control = run.old(ctx).stopAndReadControl();
            String unclean = stoppedUncleanly(control);
            if (unclean != null) {
                return TaskResult.failed(unclean);
            }
            run.status.put(Key.SHUTDOWN_CHECKPOINT, control.get("Latest checkpoint location")).done(Step.OLD_STOPPED, ctx);
            return TaskResult.changed("stopped; shutdown checkpoint at " + control.get("Latest checkpoint location"), List.of("pg_ctl stop -m fast"));
        });
    }

    /** Records when the old cluster stopped; why its shutdown was not clean, or null when it was. */
    String stoppedUncleanly(Map<String, String> control) {
        run.status.put(Key.STOPPED_AT, System.currentTimeMillis());
        String state = control.getOrDefault("Database cluster state", "?");
        return "shut down".equals(state) ? null
                : run.m.old().version() + "/" + run.cluster() + " did not shut down cleanly (pg_controldata: " + state + ")";
    }

    TaskResult pgUpgrade(HostContext ctx) throws Exception {
        if (run.status.done(Step.PG_UPGRADE)) {
            return TaskResult.ok("done earlier in this upgrade");
        }
        resolveJobs(ctx);
        return Imperative.of("run pg_upgrade --" + run.m.method(), List.of(String.join(" ", pgUpgradeArgs(false)))).run(ctx, () -> {
            restorePgControl(ctx);
            if (!run.status.flag(Key.NEW_FRESH)) {
                // a pg_upgrade of an earlier run left the new cluster half done: start from a new one
                run.newCluster.newCluster(ctx);
                run.newCluster.carryConfig(ctx);
            }
            run.status.put(Key.NEW_FRESH, false).save(ctx);
            Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", run.m.workDir()));
            long t0 = System.nanoTime();
            ExecResult r = Major.postgres(ctx, Cmd.of(pgUpgradeArgs(false)));
            if (!r.ok()) {
                return TaskResult.failed("pg_upgrade failed: " + RemoteCommandException.lastLines(r.stdout() + "\n" + r.stderr(), 6),
                        Map.of("report", r.stdout().lines().filter(l -> !l.isBlank()).toList()));
            }
            run.status.done(Step.PG_UPGRADE, ctx);
            return TaskResult.changed("pg_upgrade --" + run.m.method() + " done in " + (System.nanoTime() - t0) / 1_000_000 + " ms (" + run.jobs + " jobs)",
                    List.of(String.join(" ", pgUpgradeArgs(false))));
        });
    }

    /** pg_upgrade --link renames the old global/pg_control to pg_control.old; undone while the new cluster never ran. */
    void restorePgControl(HostContext ctx) {
        String control = run.status.get(Key.OLD_DATA) + "/global/pg_control";
        Pg.root(ctx, Cmd.of("sh", "-c", "[ -e \"$1\" ] || [ ! -e \"$1.old\" ] || mv \"$1.old\" \"$1\"", "sh", control));
    }
}
