package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.StandbySql;
import dev.pgplay.postgres.SwitchoverJournal;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.run.WritesRefused;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.CommandTimeoutException;
import dev.pgplay.core.ssh.UnreachableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** The proven switchover: writes stopped, the old primary stopped and fenced, the standby proven past its checkpoint and promoted, the VIP moved; journaled on both nodes. A step of {@link RollingMinor}. */
final class Switchover {
    private Switchover() {
    }

    // ---------------------------------------------------------------- switchover

    /**
     * Before the stop, while writes still flow: the intent goes to the journal on both nodes, and a
     * CHECKPOINT flushes most dirty pages so the shutdown checkpoint is short. No read-only phase:
     * the fast shutdown itself refuses new writes and ends client sessions (as Patroni does), and
     * every commit before it is in the WAL the standby must replay before it is promoted.
     */
    static TaskResult prepareStop(Pg p, RollingState st) throws Exception {
        st.switching = true;
        return Imperative.of("journal the switchover on both nodes and CHECKPOINT " + p.name(), List.of("journal: started", "CHECKPOINT")).run(p.ctx(), () -> {
            // the intent, on both nodes, before anything changes: a run that follows a lost controller reads it
            long started = System.currentTimeMillis();
            for (String h : List.of(st.primary, st.standby)) {
                HostContext on = p.ctx().on(h);
                on.connection().exec(SwitchoverJournal.begin(p.settings(), st.primary, st.standby, started),
                        ExecOptions.as("root").timeout(Duration.ofSeconds(15))).check(h);
            }
            st.journalOpen = true;
            p.sql("CHECKPOINT");
            st.stoppingLimit = stoppingLimit(p);
            // the proof and the promotion will go through one psql session opened now, outside the window, and the
            // journals of both nodes are kept open for the promotion's marks
            try {
                st.standbySql = StandbySql.open(new Pg(p.ctx().on(st.standby), p.settings()));
                st.standbySql.keepJournalOf(p);
            } catch (RuntimeException e) {
                abortJournal(List.of(p, new Pg(p.ctx().on(st.standby), p.settings())));
                st.journalOpen = false;
                return TaskResult.failed("no psql session on " + st.standby + " (" + e.getMessage() + "); nothing was stopped");
            }
            return TaskResult.changed("switchover " + st.primary + " -> " + st.standby + " journaled on both nodes; CHECKPOINT done, writes still allowed",
                    List.of("journal: started", "CHECKPOINT"));
        });
    }

    static TaskResult vip(HostContext ctx, PgSettings s, boolean up, RollingState st) throws Exception {
        if (st.simulated && s.vip().isPresent()) {
            return TaskResult.changed("would " + (up ? "raise the VIP on " : "take the VIP off ") + ctx.host().name(), List.of("VIP"));
        }
        if (s.vip().isEmpty()) {
            if (up && st.writesBlockedAt > 0) {
                return new TaskResult.Skipped("no VIP in the inventory", Map.of(WritesRefused.KEY, refusedUntil(st, System.nanoTime())));
            }
            return TaskResult.skipped("no VIP in the inventory");
        }
        VirtualIp op = up ? VirtualIp.present(s.vip().get()) : VirtualIp.absent(s.vip().get());
        Operation.Plan plan = op.plan(ctx);
        if (plan.steps().isEmpty() || ctx.checkMode()) {
            return plan.steps().isEmpty() ? TaskResult.ok(plan.message())
                    : TaskResult.changed("would " + plan.message(), plan.steps().stream().map(x -> x.command().toString()).toList());
        }
        VipUp applied = apply(ctx, plan);
        op.changes().forEach(ctx::forget);
        if (up && st.writesBlockedAt > 0) {
            return new TaskResult.Changed(plan.message(), applied.commands(), java.util.Optional.empty(),
                    Map.of(WritesRefused.KEY, refusedUntil(st, applied.at())));
        }
        return TaskResult.changed(plan.message(), applied.commands());
    }

    /** Writes were refused from the stop until {@code endNanos}: the gap is counted, the window closed and returned. */
    private static WritesRefused refusedUntil(RollingState st, long endNanos) {
        long gap = (endNanos - st.writesBlockedAt) / 1_000_000;
        st.gapsMillis.add(gap);
        WritesRefused w = WritesRefused.untilNow(st.writesBlockedAt);
        st.writesBlockedAt = 0;
        return new WritesRefused(w.fromMillis(), w.fromMillis() + gap);
    }

    static TaskResult stopAndFence(Pg p, RollingState st) {
        st.writesBlockedAt = System.nanoTime();
        if (p.ctx().checkMode()) {
            st.checkpointLsn = 0;
            return TaskResult.changed("would stop " + p.name() + " (fast) and fence it as a standby",
                    List.of("pg_ctl stop -m fast", "standby.signal + primary_conninfo"));
        }
        // one round trip: fast stop, wait for the shutdown checkpoint in pg_control (2 ms steps), not for the postmaster's
        // exit (its walsender hands the last WAL over and connection attempts are turned away, which under load took
        // 50-200 ms more), and the fence written before anything else can start it
        String standbyAddress = p.ctx().inventory().host(st.standby).address();
        Map<String, String> control = p.stopAndFence(p.standbyConf(standbyAddress, PgSettings.slotFor(p.name())));
        String state = control.getOrDefault("Database cluster state", "?");
        if (!"shut down".equals(state)) {
            return TaskResult.failed(p.name() + " did not shut down cleanly (pg_controldata: " + state + ")");
        }
        st.checkpointLsn = Psql.lsn(control.get("Latest checkpoint location"));
        st.fenceCheckpoint = st.checkpointLsn;
        st.switching = false;
        // returned at the shutdown checkpoint: no more WAL, no connection taken; the postmaster ends by itself
        st.stillStopping = "stopping".equals(control.get("postmaster")) ? p.name() : null;
        return TaskResult.changed("stopped and fenced " + p.name() + " (standby.signal); shutdown checkpoint at " + control.get("Latest checkpoint location"),
                List.of("pg_ctl stop -m fast", "standby.signal + primary_conninfo"));
    }

    /**
     * Promotes only after the standby replayed past the old primary's shutdown checkpoint: then it
     * has every acknowledged commit. If that is not proven in time, the old primary is started
     * again and gets the VIP back; nothing is promoted.
     */
    static TaskResult proveAndPromote(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        Pg o = new Pg(ctx, s);
        Pg p = new Pg(ctx.on(st.primary), s);
        if (ctx.checkMode()) {
            String from = st.primary;
            st.checkpointLsn = -1;
            st.swap();
            st.oldPrimaryNeedsRejoin = true;
            st.simulated = true;
            st.switchovers.add(from + " -> " + st.primary + " (would)");
            return TaskResult.changed("would wait until " + o.name() + " replayed past " + p.name() + "'s shutdown checkpoint, then promote "
                    + o.name() + " (if not proven: no promotion, " + p.name() + " restarted with the VIP)", List.of("SELECT pg_promote(true, 60)"));
        }
        long checkpoint = st.checkpointLsn;
        String cp = Psql.lsnText(checkpoint);
        int timeoutSeconds = Integer.parseInt(ctx.var("proof-timeout-seconds", "15"));
        StandbySql session = st.standbySql; // opened before the stop
        st.standbySql = null;
        List<String> row;
        try {
            if (session == null) {
                session = StandbySql.open(o);
            }
            row = session.positionsPast(cp, timeoutSeconds);
        } catch (UnreachableException | CommandTimeoutException e) {
            if (session != null) {
                session.close();
            }
            return notPromoted(p, o, s, st, o.name() + " could not be read (" + e.getMessage() + ")",
                    "Next: bring " + o.name() + " back on the network, then run again");
        }
        try (StandbySql sql = session) {
            return promoteIfProven(ctx, s, st, p, o, sql, row, checkpoint, cp);
        }
    }

    /** The second half of {@link #proveAndPromote}: with the standby's positions read, promote or roll back. */
    static TaskResult promoteIfProven(HostContext ctx, PgSettings s, RollingState st, Pg p, Pg o, StandbySql session, List<String> row,
            long checkpoint, String cp) throws Exception {
        long received = Psql.lsn(row.get(0));
        long replay = Psql.lsn(row.get(1));
        if (!StandbySql.proven(row, checkpoint)) {
            return notPromoted(p, o, s, st, o.name() + " received up to " + Psql.lsnText(received) + " (replayed " + Psql.lsnText(replay)
                    + "), not past " + p.name() + "'s shutdown checkpoint at " + cp + " with replay close behind",
                    "Next: find out why " + o.name() + " stopped receiving WAL (pg_stat_wal_receiver, its log), then run again");
        }
        StandbySql.Promotion promoted;
        CompletableFuture<VipUp> vipUp = null;
        VirtualIp vipOp = s.vip().map(VirtualIp::present).orElse(null);
        try {
            session.markPromoting(p);
            // the promotion is asked for from here: the VIP goes up on the standby while it leaves recovery (a client that
            // reaches it before is refused writes, as it was by the stopped primary), not one round trip after
            if (vipOp != null && !st.simulated) {
                vipUp = CompletableFuture.supplyAsync(() -> raiseVip(o.ctx(), vipOp), r -> {
                    Thread t = new Thread(r, "vip-" + o.name());
                    t.setDaemon(true);
                    t.start();
                });
            }
            ctx.progress("promotion of " + o.name() + " asked for (journals: promoting)");
            promoted = session.promoteMarked(cp);
        } catch (UnreachableException | CommandTimeoutException e) {
            VipUp up = joined(vipUp, vipOp, o.ctx());
            return TaskResult.failed("the promotion of " + o.name() + " was asked for and " + o.name() + " cannot be read now ("
                    + e.getMessage() + "); " + p.name() + " stays stopped and fenced" + vipOffStopped(p, s, st)
                    + (up != null && up.raised() ? "; the VIP was raised on " + o.name() : "")
                    + ". Next: when " + o.name() + " answers, run again: the journal tells the next run to finish this switchover");
        }
        long promotedAt = System.nanoTime();
        VipUp up = joined(vipUp, vipOp, o.ctx());
        if (promoted.stillInRecovery()) {
            if (up != null && up.raised()) {
                try {
                    vip(o.ctx(), s, false, st);
                } catch (RuntimeException e) {
                    o.ctx().progress("could not take the VIP off " + o.name() + " again: " + e.getMessage());
                }
            }
            return TaskResult.failed(o.name() + " did not leave recovery after pg_promote; " + p.name() + " is stopped and the VIP is down: "
                    + "check " + o.name() + "'s log, promote it by hand (pg_ctlcluster " + s.version() + " " + s.cluster() + " promote) "
                    + "or start " + p.name() + " again");
        }
        if (!promoted.past(checkpoint)) {
            // cannot happen when PostgreSQL replays every streamed byte before it ends recovery, as it does: said, not assumed
            return TaskResult.failed(o.name() + " was promoted but its recovery ended at " + Psql.lsnText(promoted.replayed()) + ", not past "
                    + p.name() + "'s shutdown checkpoint at " + cp + " (received " + Psql.lsnText(received) + "): commits may be missing on it. "
                    + p.name() + " stays stopped and fenced with the data that may be missing. Next: compare the two (pg_waldump of "
                    + p.name() + "'s last WAL segment), then rejoin " + p.name() + " by hand");
        }
        String from = st.primary;
        st.checkpointLsn = -1;
        st.swap();
        st.oldPrimaryNeedsRejoin = true;
        st.switchovers.add(from + " -> " + st.primary);
        st.promotedFrom = from;
        String message = "received " + Psql.lsnText(received) + " > shutdown checkpoint " + cp + " (replayed " + Psql.lsnText(replay)
                + "); promoted " + o.name() + ", its recovery ended at " + Psql.lsnText(promoted.replayed());
        if (up == null || st.writesBlockedAt == 0) {
            return TaskResult.changed(message, List.of("SELECT pg_promote()")); // the VIP's own step raises it (or there is none)
        }
        // writes were refused until the address answered and the server had left recovery, whichever came last
        WritesRefused refused = refusedUntil(st, Math.max(up.at(), promotedAt));
        List<String> done = new ArrayList<>(List.of("SELECT pg_promote()"));
        done.addAll(up.commands());
        return new TaskResult.Changed(message + "; " + up.message() + " (raised during the promotion)", done, java.util.Optional.empty(),
                Map.of(WritesRefused.KEY, refused));
    }

    /**
     * The VIP taken off the old primary when the run gives up with it stopped and fenced: it
     * serves nothing there, and once the network heals the promoted node's announcement must be
     * the only one. Best effort (the old primary's own host is reachable, or the text says it kept it).
     */
    private static String vipOffStopped(Pg p, PgSettings s, RollingState st) {
        if (s.vip().isEmpty()) {
            return "";
        }
        try {
            TaskResult off = vip(p.ctx(), s, false, st);
            return off.isFailure() ? ", and still holds the VIP (" + off.message() + ")" : "; the VIP is off " + p.name() + " (it serves nothing there)";
        } catch (Exception e) {
            return ", and may still hold the VIP (" + e.getMessage() + ")";
        }
    }

    /** A VIP plan carried out by {@link #apply}: when its first step had run (System.nanoTime), the commands. */
    record VipUp(long at, String message, List<String> commands) {
        boolean raised() {
            return !commands.isEmpty();
        }
    }

    /** The VIP on {@code ctx}'s host, its steps only (no write gap bookkeeping: the caller does it). */
    static VipUp raiseVip(HostContext ctx, VirtualIp op) {
        return apply(ctx, op.plan(ctx));
    }

    /** Runs a VIP plan's steps as root; the address answers from the end of the first (the first ARP follows at once). */
    private static VipUp apply(HostContext ctx, Operation.Plan plan) {
        List<String> done = new ArrayList<>();
        long at = System.nanoTime();
        for (Step step : plan.steps()) {
            ctx.connection().exec(step.command(), ExecOptions.as("root")).check(ctx.host().name());
            if (done.isEmpty()) {
                at = System.nanoTime();
            }
            done.add(step.command().toString());
        }
        return new VipUp(at, plan.message(), done);
    }

    /**
     * The VIP raised beside the promotion, or null when it was not tried or failed (the VIP's own
     * step raises it then); either way the host's facts it may have changed are read again.
     */
    private static VipUp joined(CompletableFuture<VipUp> f, VirtualIp op, HostContext ctx) {
        if (f == null) {
            return null;
        }
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            return null;
        } finally {
            op.changes().forEach(ctx::forget);
        }
    }

    /**
     * The proof failed: nothing was promoted, so the old primary serves again (fence lifted, started,
     * writes allowed, the VIP it kept made sure of) and the journal says the switchover was undone.
     */
    static TaskResult notPromoted(Pg p, Pg o, PgSettings s, RollingState st, String why, String next) throws Exception {
        st.checkpointLsn = -1;
        if (awaitExit(p, st) instanceof TaskResult.Failed f) {
            return TaskResult.failed("NOT promoted: " + why + "; " + f.message()); // the journal stays open: a re-run takes it from there
        }
        p.unfence();
        p.start();
        abortJournal(List.of(p, o));
        st.journalOpen = false;
        st.fenceCheckpoint = -1;
        String vipBack = "";
        if (s.vip().isPresent()) {
            vip(p.ctx(), s, true, st);
            vipBack = " and holds the VIP";
        }
        st.writesBlockedAt = 0;
        String bouncer = "";
        if (st.bouncer != null) {
            try {
                st.bouncer.lead(p.ctx(), st, p.name());
                bouncer = ", PgBouncer resumed toward it";
            } catch (RuntimeException e) {
                bouncer = ", PgBouncer NOT resumed (" + e.getMessage() + "; its timer resumes it)";
            }
        }
        return TaskResult.failed("NOT promoted: " + why + "; " + p.name() + " was started again" + vipBack + bouncer + ". " + next);
    }

    /**
     * How long the old primary's postmaster may linger after its shutdown checkpoint: a connection
     * attempt abandoned mid-handshake (a client whose VIP moved away) keeps it until
     * authentication_timeout, a walsender whose standby went silent until wal_sender_timeout; 30 s more.
     */
    static Duration stoppingLimit(Pg p) {
        List<String> r = p.rows("SELECT (SELECT setting::bigint * 1000 FROM pg_settings WHERE name = 'authentication_timeout'), "
                + "(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout')").get(0);
        return Duration.ofMillis(Math.max(Long.parseLong(r.get(0)), Long.parseLong(r.get(1))) + 30_000);
    }

    /** Why a run refuses when a postmaster past its shutdown checkpoint did not exit within {@code limit}, and what to do. */
    static String stillStopping(Pg p, Duration limit) {
        return p.name() + "'s postmaster is still running " + limit.toSeconds() + " s after its shutdown checkpoint; "
                + "it takes no connection and writes nothing. Next: see its log (a walsender waiting for a standby?), stop it (pg_ctlcluster "
                + p.settings().version() + " " + p.settings().cluster() + " stop -m immediate), then run again";
    }

    /** The old primary's stop returned at its shutdown checkpoint: waits until its postmaster is gone ({@link #stoppingLimit}). */
    static TaskResult awaitExit(Pg p, RollingState st) {
        if (st.stillStopping == null || !st.stillStopping.equals(p.name())) {
            return TaskResult.skipped("its postmaster had exited already");
        }
        long from = System.nanoTime();
        if (!p.awaitExit(st.stoppingLimit)) {
            return TaskResult.failed(stillStopping(p, st.stoppingLimit));
        }
        st.stillStopping = null;
        long waited = (System.nanoTime() - from) / 1_000_000;
        return TaskResult.ok("its postmaster has exited" + (waited < 1000 ? ""
                : " after " + waited / 1000 + " s more (a connection attempt left mid-handshake waits out authentication_timeout; writes were not affected)"));
    }

    /** A switchover journaled by {@link #prepareStop} that stops before anything was stopped: session closed, journal aborted. */
    static void undoStart(Pg p, RollingState st) {
        if (st.standbySql != null) {
            st.standbySql.close();
            st.standbySql = null;
        }
        abortJournal(List.of(p, new Pg(p.ctx().on(st.standby), p.settings())));
        st.journalOpen = false;
        st.switching = false;
    }

    /** The switchover is over (undone): both journals say so, where they can be reached. */
    static void abortJournal(List<Pg> nodes) {
        for (Pg pg : nodes) {
            try {
                pg.ctx().connection().exec(SwitchoverJournal.append(pg.settings(), "state=aborted"),
                        ExecOptions.as("postgres").timeout(Duration.ofSeconds(10)));
            } catch (RuntimeException e) {
                pg.ctx().progress("could not close the switchover journal on " + pg.name() + ": " + e.getMessage());
            }
        }
    }

    /** The old primary streams from the new one: the switchover in the journal is over on both nodes. */
    static TaskResult closeJournal(HostContext ctx, PgSettings s, RollingState st) {
        if (ctx.checkMode() || st.simulated) {
            return TaskResult.skipped("check mode");
        }
        for (String h : List.of(st.primary, st.standby)) {
            ctx.on(h).connection().exec(SwitchoverJournal.append(s, "state=done"), ExecOptions.as("postgres")).check(h);
        }
        st.journalOpen = false;
        st.fenceCheckpoint = -1;
        return TaskResult.changed("journal closed on " + st.primary + " and " + st.standby, List.of("state=done"));
    }
}
