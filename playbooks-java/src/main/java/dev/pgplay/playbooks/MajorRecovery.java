package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import java.util.Optional;

/** The one way back while the new cluster never took writes: the old cluster on its port, writable. A step of {@link Major}. */
final class MajorRecovery {
    private final Major run;

    MajorRecovery(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- failure: back to the old cluster

    /**
     * Puts the old cluster back on its port, writable, and records failed-upgrade; in link mode
     * after the new cluster started that is impossible, and the new one stays up read-only.
     */
    String recover(HostContext ctx, String reason) {
        try {
            run.status.state(State.FAILED_UPGRADE).put(Key.MESSAGE, reason);
            if (run.m.method().equals("link") && run.status.flag(Key.NEW_STARTED)) {
                run.status.save(ctx);
                return "link mode and the new cluster has run: the old cluster cannot be started again. " + run.m.next().version()
                        + " stays up read-only; fix the cause and run again with --resume";
            }
            back(ctx);
            run.status.undo(Major.UNDONE_BY_GOING_BACK).put(Key.NEW_STARTED, false).put(Key.NEW_FRESH, false);
            run.status.save(ctx);
            return "the old cluster " + run.m.old().version() + "/" + run.cluster() + " runs again on port " + run.port()
                    + " and takes writes; its data was not changed. Fix the cause and run again with --resume";
        } catch (RuntimeException e) {
            return "PUTTING THE OLD CLUSTER BACK FAILED TOO: " + e.getMessage() + "; status: " + run.status.summary();
        }
    }

    /** Ends pg_dump/pg_restore/pg_upgrade processes an interrupted run left working in the work directory. */
    void killLeftovers(HostContext ctx) {
        if (Detached.running(ctx, Major.UNIT)) {
            Detached.stop(ctx, Major.UNIT); // its whole cgroup, before anything is put back
        }
        String dir = run.m.workDir() + "/";
        // "[/]var/..." matches the processes but not this shell's own command line
        String pattern = "[" + dir.charAt(0) + "]" + dir.substring(1);
        Pg.root(ctx, Cmd.of("sh", "-c", "pkill -f -- \"$1\" && sleep 0.5; pkill -9 -f -- \"$1\"; true", "sh", pattern));
    }

    /** Stops the new cluster, gives the old one its port back, starts it and allows writes. */
    void back(HostContext ctx) {
        killLeftovers(ctx);
        Optional<PgFacts.Cluster> n = run.find(ctx, run.m.next().version());
        if (n.isPresent() && n.get().online()) {
            Pg.root(ctx, Cmd.of("pg_ctlcluster", "--force", run.m.next().version(), run.cluster(), "stop"));
        }
        if (n.isPresent() && run.sidePort() > 0) {
            run.cutOver.ports(ctx, false);
        }
        run.pgUpgradeMove.restorePgControl(ctx);
        run.cutOver.startConf(ctx, run.m.old().version(), "auto");
        Pg o = run.old(ctx);
        if (!o.online()) {
            o.start();
        }
        o.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
        run.standbyRsync.putBack(ctx);
    }
}
