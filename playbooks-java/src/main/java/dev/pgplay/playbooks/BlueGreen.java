package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.playbooks.BlueGreenStatus.Phase;
import dev.pgplay.postgres.DdlGuard;
import dev.pgplay.postgres.Publication;
import dev.pgplay.postgres.ReplicationSlots;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import dev.pgplay.playbooks.BlueGreenStatus.Phase;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Subscription;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A blue-green major upgrade through logical replication: blue is the cluster that serves now,
 * green a cluster of the new major on another host that follows it. Shared by the four playbooks:
 * {@link BlueGreenPrep} builds green, {@link WriteSwitch} moves writes to one side (the switch,
 * and the rollback as the same switch in reverse), {@link #cleanup} ends the replication.
 *
 * <p>The invariant every step keeps: whenever a side takes writes, the other side subscribes to
 * it. So a side that does not subscribe to the other has nothing the other lacks, and a switch cut
 * at any point is finished or undone by running it again in either direction.
 */
final class BlueGreen {
    final BlueGreenSettings s;
    BlueGreenStatus status = new BlueGreenStatus();
    final List<String> notes = new ArrayList<>();

    BlueGreen(BlueGreenSettings settings) {
        this.s = settings;
    }

    int port() {
        return s.blue().port();
    }

    String cluster() {
        return s.blue().cluster();
    }

    /** The host context of one side, from any task's context. */
    HostContext on(HostContext any, Side side) {
        return any.on(s.host(side));
    }

    Pg pg(HostContext any, Side side) {
        return new Pg(on(any, side), s.cluster(side));
    }

    /** Reads both hosts' status files; the newer counts. */
    BlueGreenStatus readStatus(HostContext any) {
        status = BlueGreenStatus.newer(BlueGreenStatus.read(on(any, Side.BLUE), cluster()), BlueGreenStatus.read(on(any, Side.GREEN), cluster()));
        return status;
    }

    void saveStatus(HostContext any) {
        status.oldVersion = s.blue().version();
        status.newVersion = s.nextVersion();
        status.save(cluster(), on(any, Side.BLUE), on(any, Side.GREEN));
    }

    /** Large objects are copied at each switch: chosen now or at prepare (recorded). */
    boolean copyLargeObjects() {
        return s.copyLargeObjects() || status.copyLargeObjects;
    }

    /** Unlogged tables are left empty on the new side: chosen now or at prepare (recorded). */
    boolean unloggedEmpty() {
        return s.unloggedEmpty() || status.unloggedEmpty;
    }

    // ---------------------------------------------------------------- what the servers say

    /** Whether new sessions on the side get read-only transactions (pgplay's write block). */
    boolean readOnly(HostContext any, Side side) {
        return "on".equals(Psql.value(on(any, side), port(), "SHOW default_transaction_read_only"));
    }

    /**
     * Whether the side follows the other: pgplay's subscription enabled in any database
     * (pg_subscription is shared by all of them; a switch detaches by disabling).
     */
    boolean subscribes(HostContext any, Side side) {
        return !"0".equals(Psql.value(on(any, side), port(), "SELECT count(*) FROM pg_subscription WHERE subname = "
                + Psql.literal(Subscription.NAME) + " AND subenabled"));
    }

    /**
     * Drops the subscriptions a switch detached (disabled, slot let go) or made ahead and did not
     * use ({@link Subscription#PENDING}) on this side, without reaching the other side (their slots
     * there are dropped on their own); returns how many.
     */
    int dropDetached(HostContext side) {
        int n = 0;
        for (List<String> r : Psql.rows(side, port(), "postgres", "SELECT " + Psql.hex("d.datname") + ", (s.subname = "
                + Psql.literal(Subscription.PENDING) + ")::text FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE (s.subname = "
                + Psql.literal(Subscription.NAME) + " AND NOT s.subenabled AND s.subslotname IS NULL) OR s.subname = " + Psql.literal(Subscription.PENDING))) {
            Psql.run(side, port(), Psql.unhex(r.get(0)), Psql.WRITABLE + "SET pgplay.allow_ddl = on;\n"
                    + ("true".equals(r.get(1)) ? Subscription.PENDING_DROP_SQL : Subscription.DETACH_SQL));
            n++;
        }
        return n;
    }

    /** The databases that are replicated, as the side that takes writes lists them. */
    List<String> databases(HostContext any, Side side) {
        return Psql.databases(on(any, side), port(), "datallowconn AND NOT datistemplate");
    }

    /**
     * The libpq connection (no dbname, no password: .pgpass) with which one side subscribes to the
     * other; an unreachable side fails a subscription's creation in 10 s, not the system's TCP timeout.
     */
    String publisher(HostContext any, Side side) {
        return "host=" + any.inventory().host(s.host(side)).address() + " port=" + port() + " user=" + s.blue().replicationUser()
                + " application_name=pgplay_bluegreen connect_timeout=10";
    }

    /** The rollback matrix, corrected from seed 004 (there is no physical replication from a new major back to an old one). */
    static List<String> rollbackMatrix() {
        return List.of(
                "way back, by where the upgrade stands:",
                "  before the switch (writes on blue, green follows): bluegreen-rollback drops green's replication; blue never stopped",
                "  after the switch (writes on green, blue follows):  bluegreen-rollback switches writes back to blue; no commit is lost",
                "  after bluegreen-cleanup:                           none by replication; restore blue from a backup");
    }

    // ---------------------------------------------------------------- the plays

    /** A first play on both hosts (so the run lock holds both): each one's status file. */
    Play statusPlay() {
        return Play.of("where things stand", s.hosts()).failFast()
                .task(Task.of("blue-green status on this host", ctx -> TaskResult.ok(BlueGreenStatus.read(ctx, cluster()).summary())));
    }

    List<Play> switchPlays(Side to) {
        Play play = Play.of("writes to " + to.text() + ": " + s.title(), s.blue().primary()).failFast().task(new WriteSwitch(this, to).tasks());
        return List.of(statusPlay(), play, reportPlay());
    }

    /** Set by the rollback's first task: back by the switch in reverse (true), or by giving up green (false). */
    Boolean backBySwitch;

    /**
     * bluegreen-rollback: once writes have been on green (or a switch toward it was cut), the
     * switch back to blue; before any switch, green's replication ended and green given up.
     */
    List<Play> rollbackPlays() {
        Play decide = Play.of("which way back", s.blue().primary()).failFast().task(Task.of("where things stand", ctx -> {
            BlueGreenStatus st = readStatus(ctx);
            if (st.phase == Phase.NONE || st.phase == Phase.PREPARING) {
                backBySwitch = false;
                return TaskResult.ok(st.summary() + ": green never followed; its replication is dropped");
            }
            backBySwitch = st.phase == Phase.SWITCHING || st.writable == Side.GREEN;
            return TaskResult.ok(st.summary() + (backBySwitch ? ": the switch in reverse" : ": before any switch, green is given up"));
        }));
        Play back = Play.of("writes back to blue", s.blue().primary()).failFast().task(new WriteSwitch(this, Side.BLUE).tasks());
        Play giveUp = Play.of("green given up", s.blue().primary()).failFast().task(endTasks(true));
        return List.of(statusPlay(), decide, back, giveUp, reportPlay());
    }

    Play reportPlay() {
        return Play.of("report", s.blue().primary()).task(Task.of("report", this::report));
    }

    /**
     * The end of the replication: the side that takes writes stays, the other stops following it;
     * subscriptions, publications, slots and DDL guards go on both sides. {@code rollback}: before
     * any switch, green is given up (stopped, not started at boot) and blue goes on as before.
     */
    List<Task> endTasks(boolean rollback) {
        return List.of(
                Task.of("where things stand", ctx -> endWhere(ctx, rollback)),
                Task.of("subscriptions detached by a switch dropped (both sides)", ctx -> {
                    int n = ctx.checkMode() ? 0 : dropDetached(on(ctx, Side.BLUE)) + dropDetached(on(ctx, Side.GREEN));
                    return n == 0 ? TaskResult.ok("none") : TaskResult.changed(n + " dropped", List.of(Subscription.DETACH_SQL.strip()));
                }).when(c -> !ended),
                Task.of("the follower stops following", ctx -> Subscription.absent(port(), null).run(on(ctx, status.writable.other()))).when(c -> !ended),
                Task.of("no subscription on the side that takes writes", ctx -> Subscription.absent(port(), null).run(on(ctx, status.writable))).when(c -> !ended),
                Task.of("publications dropped (both sides)", ctx -> both(ctx, Publication.absent(port()))).when(c -> !ended),
                Task.of("DDL guards lifted (both sides)", ctx -> both(ctx, DdlGuard.off(port()))).when(c -> !ended),
                Task.of("no pgplay slots left (both sides)", ctx -> both(ctx, ReplicationSlots.staleDropped(port(), "pgplay_bg_"))).when(c -> !ended),
                Task.of("green given up: stopped, not started at boot", ctx -> giveUpGreen(ctx)).when(c -> !ended && rollback),
                Task.of("ended", ctx -> ended(ctx, rollback)).when(c -> !ended));
    }

    private boolean ended;

    private TaskResult endWhere(HostContext ctx, boolean rollback) {
        if (rollback && Boolean.TRUE.equals(backBySwitch)) {
            ended = true;
            return TaskResult.skipped("writes went back by the switch in reverse");
        }
        BlueGreenStatus st = readStatus(ctx);
        if (st.phase == Phase.CLEANED) {
            ended = true;
            return TaskResult.ok("ended earlier: writes on " + st.writable.text());
        }
        if (st.phase == Phase.NONE && !rollback) {
            return TaskResult.failed("no blue-green upgrade on these hosts");
        }
        if (st.phase == Phase.SWITCHING) {
            return TaskResult.failed("a switch was cut (" + st.summary() + "): finish it with bluegreen-switch, or undo it with bluegreen-rollback, first");
        }
        if (rollback && st.writable != Side.BLUE) {
            return TaskResult.failed("writes are on green: bluegreen-rollback switches them back first");
        }
        if (st.phase == Phase.READY && (readOnly(ctx, st.writable) || !readOnly(ctx, st.writable.other()))) {
            return TaskResult.failed("the servers do not match the status (" + st.summary() + "): " + st.writable.text()
                    + " should take writes and " + st.writable.other().text() + " be read-only; run bluegreen-switch or bluegreen-rollback first");
        }
        return TaskResult.ok(st.summary());
    }

    private TaskResult both(HostContext ctx, dev.pgplay.core.run.Action op) throws Exception {
        TaskResult a = op.run(on(ctx, Side.BLUE));
        TaskResult b = op.run(on(ctx, Side.GREEN));
        if (a instanceof TaskResult.Failed || b instanceof TaskResult.Failed) {
            return a instanceof TaskResult.Failed ? a : b;
        }
        String text = "blue: " + a.message() + "; green: " + b.message();
        return a instanceof TaskResult.Changed || b instanceof TaskResult.Changed ? TaskResult.changed(text, List.of()) : TaskResult.ok(text);
    }

    private TaskResult giveUpGreen(HostContext ctx) throws Exception {
        Pg g = pg(ctx, Side.GREEN);
        if (!g.online()) {
            return TaskResult.ok("green is stopped");
        }
        return Imperative.of("stop green and keep it from starting at boot", List.of("pg_ctl stop -m fast", "start.conf: manual")).run(ctx, () -> {
            g.startConf("manual", false);
            g.stopFast();
            return TaskResult.changed("green stopped; delete it with: pg_dropcluster " + s.nextVersion() + " " + cluster() + " on " + s.green(),
                    List.of("pg_ctl stop -m fast", "start.conf: manual"));
        });
    }

    private TaskResult ended(HostContext ctx, boolean rollback) throws Exception {
        return Imperative.of("record the end", List.of("status: cleaned")).run(ctx, () -> {
            status.phase = Phase.CLEANED;
            status.target = null;
            saveStatus(ctx);
            Side w = status.writable;
            notes.add(rollback ? "green given up; blue serves as before the upgrade, its DDL guard lifted"
                    : "writes on " + w.text() + " (" + s.host(w) + "); " + w.other().text() + " (" + s.host(w.other())
                    + ") no longer follows and stays read-only with the data as of now: stop it when no longer wanted");
            if (!rollback && w == Side.GREEN) {
                notes.add("next: set roles.primary = " + s.green() + " and pg-version = " + s.nextVersion() + " in the inventory; blue's standbys "
                        + s.blue().standbys() + " are left to you: rebuild them from green with cluster-setup");
            }
            return TaskResult.changed("replication ended; writes on " + w.text(), List.of("status: cleaned"));
        });
    }

    // ---------------------------------------------------------------- report

    TaskResult report(HostContext ctx) {
        readStatus(ctx);
        List<String> lines = new ArrayList<>();
        lines.add("blue-green " + s.title() + ": " + status.summary());
        if (status.blockedAt > 0 && status.openedAt >= status.blockedAt) {
            lines.add("writes refused at the last switch: " + (status.openedAt - status.blockedAt) + " ms (blocked on one side until opened on the other)");
        }
        lines.addAll(notes);
        lines.addAll(rollbackMatrix());
        if (status.phase == Phase.READY) {
            lines.add(status.writable == Side.BLUE
                    ? "next: bluegreen-switch moves writes to green (" + s.green() + "); DDL on blue is refused until then (SET pgplay.allow_ddl = on to override)"
                    : "next: check the applications on " + s.nextVersion() + "; bluegreen-rollback goes back to blue, bluegreen-cleanup ends the upgrade");
        }
        return TaskResult.ok(status.summary(), Map.of("report", lines));
    }
}
