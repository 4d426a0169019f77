package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.StandbySql;
import dev.pgplay.postgres.SwitchoverJournal;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.CommandTimeoutException;
import dev.pgplay.core.ssh.UnreachableException;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.Vip;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Rolling minor upgrade of a primary/standby pair behind a VIP, losing no acknowledged write:
 * pre-flight; upgrade and restart the standby; switch over (writes blocked and client sessions
 * ended, checkpoint, fast stop, proof that the standby replayed the old primary's shutdown
 * checkpoint, promotion, VIP moved with gratuitous ARP); upgrade the old primary and rejoin it as
 * a standby by the cheapest safe method (direct, pg_rewind, pg_basebackup).
 *
 * <p>Extra vars: {@code switchback=true} (the original primary serves again at the end),
 * {@code switchover=true} (switch over even when nothing needs upgrading: a planned switchover),
 * {@code rejoin-method=auto|direct|pg_rewind|pg_basebackup}, {@code max-lag-bytes},
 * {@code proof-timeout-seconds}.
 *
 * <p>The VIP leaves the old primary only after the promotion, not first as in the hand-run
 * recipe: once writes are blocked and the server is stopped it can accept nothing, and clients
 * that reach a stopped server are refused at once and retry, instead of waiting out a connect
 * timeout against an address nobody answers; if the proof fails, the VIP never moved. It is raised
 * on the new primary before it is removed from the stopped old one, so there is no moment in
 * which the address leads nowhere. {@code -e switchback=true}
 * switches back so the original primary serves again. Every step reads the live cluster first, so
 * a run after a failure continues where the cluster stands.
 */
public final class RollingMinor implements Playbook {
    static final long DEFAULT_MAX_LAG = 16L * 1024 * 1024;

    @Override
    public String name() {
        return "rolling-minor";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.of(
                dev.pgplay.core.run.PlaybookOption.bool("switchback", false, "switch back afterwards, so the original primary is primary again"),
                dev.pgplay.core.run.PlaybookOption.bool("switchover", false, "switch over even when both nodes already run the newest version"),
                dev.pgplay.core.run.PlaybookOption.integer("max-lag-bytes", DEFAULT_MAX_LAG, 0, Long.MAX_VALUE,
                        "largest replay lag of the standby at which the switchover starts"),
                dev.pgplay.core.run.PlaybookOption.integer("proof-timeout-seconds", 15, 1, 3600,
                        "how long the standby may take to show it has every byte the old primary wrote"),
                dev.pgplay.core.run.PlaybookOption.choice("rejoin-method", "auto", "how the old primary rejoins as a standby",
                        "auto", "direct", "pg_rewind", "pg_basebackup"));
    }

    @Override
    public String description() {
        return "minor upgrade of a primary/standby pair: standby first, switchover behind the VIP with no lost writes, old primary rejoins";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        PgSettings s = PgSettings.of(inventory, extra);
        if (s.standbys().size() != 1) {
            throw new IllegalArgumentException(inventory.file().getFileName() + ": rolling-minor handles one standby, roles.standby lists "
                    + s.standbys());
        }
        boolean switchback = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("switchback", "false")));
        long maxLag = Long.parseLong(String.valueOf(extra.getOrDefault("max-lag-bytes", DEFAULT_MAX_LAG)));
        RollingState st = new RollingState();
        String hosts = s.primary() + "," + s.standbys().get(0);
        Predicate<HostContext> onPrimary = ctx -> st.isPrimary(ctx.host().name());
        Predicate<HostContext> onStandby = ctx -> st.isStandby(ctx.host().name());
        // a node that was primary and is down without standby.signal must never be started as it is
        Predicate<HostContext> onRunningStandby = ctx -> onStandby.test(ctx) && !st.oldPrimaryNeedsRejoin;

        Play play = Play.of("rolling minor upgrade of PostgreSQL " + s.version(), hosts).failFast()
                .task(Task.of("discover which node is primary", ctx -> discover(ctx, s, st)).runOnce())
                .task(Task.of("pre-flight checks (nothing is changed if one fails)", ctx -> preflight(ctx, s, st, maxLag)).runOnce())
                .task(Task.of("VIP on the primary (gratuitous ARP)", ctx -> vip(ctx, s, true, st)).when(onPrimary))
                .task(Task.of("VIP not on the standby", ctx -> vip(ctx, s, false, st)).when(ctx -> onStandby.test(ctx) && vipHeld(ctx, s)))
                .task(Task.of("standby: install the new packages", packages(s, st)).when(onRunningStandby))
                .task(Task.of("standby: run on the new binaries", ctx -> restartOnNewBinaries(new Pg(ctx, s), st)).when(onRunningStandby))
                .task(Task.of("standby: streaming and caught up", ctx -> caughtUp(ctx, s, st, maxLag)).when(onRunningStandby))
                .task(Task.of("standby: runs the new version", ctx -> runsTarget(new Pg(ctx, s), st)).when(onRunningStandby));
        boolean forceSwitch = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("switchover", "false")));
        Predicate<HostContext> needsSwitch = ctx -> !st.oldPrimaryNeedsRejoin
                && (forceSwitch && st.switchovers.isEmpty() || primaryNeedsUpgrade(ctx, s, st));
        play = withSwitchover(play, s, st, needsSwitch, "");
        play = play
                .task(Task.of("old primary: install the new packages", packages(s, st)).when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)))
                .task(Task.of("old primary: rejoin as a standby (direct, else pg_rewind, else pg_basebackup)", ctx -> rejoin(ctx, s, st))
                        .when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("old primary: streaming and caught up", ctx -> caughtUp(ctx, s, st, maxLag)).when(onStandby))
                .task(Task.of("old primary: runs the new version", ctx -> runsTarget(new Pg(ctx, s), st)).when(onStandby))
                .task(Task.of("standby: drop the slots it kept from its time as primary", ctx -> dropStaleSlots(ctx, s, st)).when(onStandby))
                .task(Task.of("switchover journal: done", ctx -> closeJournal(ctx, s, st)).runOnce().when(ctx -> st.journalOpen));
        if (switchback) {
            Predicate<HostContext> back = ctx -> !s.primary().equals(st.primary);
            play = withSwitchover(play, s, st, back, "switchback: ");
            play = play
                    .task(Task.of("switchback: old primary rejoins as a standby", ctx -> rejoin(ctx, s, st))
                            .when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)).irreversible(Duration.ofMinutes(30)))
                    .task(Task.of("switchback: streaming and caught up", ctx -> caughtUp(ctx, s, st, maxLag)).when(onStandby))
                    .task(Task.of("switchback: drop the standby's slots from its time as primary", ctx -> dropStaleSlots(ctx, s, st)).when(onStandby))
                    .task(Task.of("switchback: switchover journal: done", ctx -> closeJournal(ctx, s, st)).runOnce().when(ctx -> st.journalOpen));
        }
        play = play
                .task(Task.of("VIP only on the primary", ctx -> vip(ctx, s, st.isPrimary(ctx.host().name()), st)))
                .task(Task.of("report", ctx -> report(ctx, s, st)).runOnce());
        return List.of(play);
    }

    /** The switchover steps, each guarded by {@code needed} and by the host's live role. */
    static Play withSwitchover(Play play, PgSettings s, RollingState st, Predicate<HostContext> needed, String label) {
        return play
                .task(Task.of(label + "primary: journal the switchover, CHECKPOINT (writes still allowed)", ctx -> prepareStop(new Pg(ctx, s), st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && needed.test(ctx)))
                .task(Task.of(label + "primary: fast shutdown (writes refused from here), fenced as a standby", ctx -> stopAndFence(new Pg(ctx, s), st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && st.switching))
                .task(Task.of(label + "standby: prove it has every byte of the primary's WAL, then promote", ctx -> proveAndPromote(ctx, s, st))
                        .when(ctx -> st.isStandby(ctx.host().name()) && st.checkpointLsn >= 0).irreversible(Duration.ofMinutes(2)))
                .task(Task.of(label + "new primary: raise the VIP (gratuitous ARP)", ctx -> vip(ctx, s, true, st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && st.writesBlockedAt > 0))
                .task(Task.of(label + "old primary: take the VIP off", ctx -> vip(ctx, s, false, st))
                        .when(ctx -> st.isStandby(ctx.host().name()) && vipHeld(ctx, s)))
                .task(Task.of(label + "new primary: replication slot for the old primary", ctx ->
                        ClusterSetup.slots(ctx, s, List.of(st.standby))).when(ctx -> st.isPrimary(ctx.host().name()) && st.oldPrimaryNeedsRejoin));
    }

    // ---------------------------------------------------------------- discovery and pre-flight

    static TaskResult discover(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        Pg a = new Pg(ctx.on(s.primary()), s);
        Pg b = new Pg(ctx.on(s.standbys().get(0)), s);
        String resumed = "";
        for (Pg pg : List.of(a, b)) {
            awaitEarlierPackages(pg);
        }
        SwitchoverJournal journal = SwitchoverJournal.merge(List.of(SwitchoverJournal.readIfReachable(a.ctx(), s),
                SwitchoverJournal.readIfReachable(b.ctx(), s)));
        if (journal.open()) {
            CutSwitchover.Outcome o = new CutSwitchover(s, journal, a, b).resolve();
            if (o.failure().isPresent()) {
                return TaskResult.failed(o.failure().get());
            }
            resumed = o.what() + "; ";
            st.notes.add("a switchover cut by a lost controller: " + o.what());
            st.journalOpen = o.promoted();
            st.fenceCheckpoint = o.promoted() ? o.checkpoint() : -1;
        }
        var ca = a.cluster();
        var cb = b.cluster();
        boolean aWrites = ca.online() && !ca.inRecovery();
        boolean bWrites = cb.online() && !cb.inRecovery();
        if (aWrites && bWrites) {
            return TaskResult.failed("both " + a.name() + " and " + b.name() + " are read-write (split brain); stop the one that must not serve, "
                    + "check it for writes the other lacks, then run again");
        }
        if (!aWrites && !bWrites) {
            return TaskResult.failed("no read-write node (" + a.name() + ": " + ca.status() + ", " + b.name() + ": " + cb.status()
                    + "); start the primary or promote the right standby deliberately, then run again");
        }
        Pg p = aWrites ? a : b;
        Pg o = aWrites ? b : a;
        st.primary = p.name();
        st.standby = o.name();
        var other = aWrites ? cb : ca;
        st.standbyDown = !other.online();
        boolean signal = o.fenced();
        // down without standby.signal (an older pgplay's cut run), or fenced by the switchover in the journal and not streaming yet
        st.oldPrimaryNeedsRejoin = !other.online() && !signal
                || st.journalOpen && !(other.online() && other.inRecovery() && o.streamingFrom(p.ctx().host().address()));
        for (Pg pg : List.of(a, b)) {
            st.versionsBefore.putIfAbsent(pg.name(), pg.installed("postgresql-" + s.version()));
        }
        String how = st.journalOpen && st.oldPrimaryNeedsRejoin ? o.name() + " is the fenced old primary of that switchover, it will rejoin"
                : st.oldPrimaryNeedsRejoin ? o.name() + " is down without standby.signal: an earlier run switched over, it will rejoin"
                : st.standbyDown ? o.name() + " (standby) is down: it will be started" : o.name() + " is a running standby";
        if (!st.primary.equals(s.primary())) {
            st.notes.add(st.primary + " is primary now, the inventory says " + s.primary() + " (an earlier switchover)");
        }
        return TaskResult.ok(resumed + "primary " + st.primary + "; " + how);
    }

    /**
     * A package install an earlier run started (detached, so a lost controller did not cut it)
     * still runs: nothing is read or decided on that node until it ended.
     */
    static void awaitEarlierPackages(Pg pg) {
        if (!pg.ctx().checkMode() && Detached.adopt(pg.ctx(), Apt.UNIT, "package install", Duration.ofMinutes(30))) {
            pg.ctx().forgetAll();
        }
    }

    static TaskResult preflight(HostContext ctx, PgSettings s, RollingState st, long maxLag) {
        Pg p = new Pg(ctx.on(st.primary), s);
        Pg o = new Pg(ctx.on(st.standby), s);
        List<String> problems = new ArrayList<>();
        List<String> info = new ArrayList<>();
        String pkg = "postgresql-" + s.version();
        String candP = p.candidate(pkg);
        String candO = o.candidate(pkg);
        if (candP.isEmpty() || candO.isEmpty()) {
            problems.add("no candidate version of " + pkg + " (apt-cache policy) on " + (candP.isEmpty() ? p.name() : o.name()));
        } else if (!candP.equals(candO)) {
            problems.add("the hosts would install different versions: " + p.name() + " " + candP + ", " + o.name() + " " + candO
                    + "; align their apt sources first");
        }
        st.target = candO;
        for (Pg pg : List.of(p, o)) {
            String inst = pg.installed(pkg);
            if (inst.isEmpty() && pg.ctx().fact(Apt.DPKG_INTERRUPTED)) {
                info.add("dpkg was interrupted on " + pg.name() + " (" + pkg + " half-installed): the install step finishes it");
            } else if (inst.isEmpty()) {
                problems.add(pkg + " is not installed on " + pg.name());
            } else if (!st.target.isEmpty() && versionLess(pg, st.target, inst)) {
                problems.add(pg.name() + " has " + inst + ", newer than the candidate " + st.target);
            }
            if (!pg.ctx().connection().exec(Cmd.of("sh", "-c", "command -v arping")).ok() && s.vip().isPresent()) {
                problems.add("arping is missing on " + pg.name() + " (apt-get install iputils-arping): the VIP needs gratuitous ARP");
            }
            String free = pg.ctx().connection().exec(Cmd.of("df", "--output=avail", "-B1M", pg.dataDir()), ExecOptions.as("postgres")).out();
            String[] lines = free.split("\n");
            long mb = lines.length > 1 ? Long.parseLong(lines[lines.length - 1].trim()) : 0;
            if (mb < 512) {
                problems.add(pg.name() + " has " + mb + " MB free for " + pg.dataDir() + " (512 MB needed)");
            }
        }
        String prepared = p.sql("SELECT count(*) FROM pg_prepared_xacts");
        if (!"0".equals(prepared)) {
            problems.add(prepared + " prepared transaction(s) on " + p.name() + " (pg_prepared_xacts): commit or roll them back first");
        }
        String longTx = p.sql("SELECT string_agg(pid || ' ' || usename || ' ' || (now() - xact_start)::text, '; ') FROM pg_stat_activity "
                + "WHERE xact_start < now() - interval '5 minutes' AND backend_type = 'client backend'");
        if (!longTx.isEmpty()) {
            info.add("long transactions (they will be ended at the switchover): " + longTx);
        }
        if (!st.standbyDown && !st.oldPrimaryNeedsRejoin) {
            if (!o.inRecovery()) {
                problems.add(o.name() + " is not in recovery");
            } else if (!o.streamingFrom(p.ctx().host().address()) && !awaitStreaming(o, p)) {
                problems.add(o.name() + " does not stream from " + p.name() + " (pg_stat_wal_receiver: "
                        + o.receiver().map(Object::toString).orElse("no receiver") + ")");
            } else {
                long lag = lagBytes(p, o);
                if (lag > maxLag) {
                    problems.add(o.name() + " is " + lag + " bytes behind (limit " + maxLag + ", -e max-lag-bytes=N)");
                } else {
                    info.add("lag " + lag + " bytes");
                }
            }
        }
        if (s.vip().isPresent()) {
            Vip vip = s.vip().get();
            boolean onP = vipHeld(p.ctx(), vip);
            boolean onO = vipHeld(o.ctx(), vip);
            if (onO) {
                info.add("the VIP " + vip.address() + " is on " + o.name() + ", which is not the primary: it moves to " + p.name() + " first");
            } else if (!onP) {
                info.add("the VIP " + vip.address() + " is on no host (it will be raised on the primary)");
            }
        }
        if (!problems.isEmpty()) {
            return TaskResult.failed(String.join("; ", problems));
        }
        st.notes.addAll(info);
        return TaskResult.ok("target " + st.target + "; " + String.join("; ", info));
    }

    /**
     * A standby whose WAL receiver is reconnecting (after a network cut heals it retries every
     * wal_retrieve_retry_interval; a dead connection ends at wal_receiver_timeout) gets up to a
     * minute to stream again before the pre-flight refuses.
     */
    static boolean awaitStreaming(Pg standby, Pg primary) {
        standby.ctx().progress(standby.name() + " is in recovery but does not stream yet: waiting up to 60 s");
        return standby.waitStreamingFrom(primary.ctx().host().address(), standby.ctx().checkMode() ? 1 : 60);
    }

    static boolean vipHeld(HostContext ctx, PgSettings s) {
        return s.vip().isPresent() && vipHeld(ctx, s.vip().get());
    }

    static boolean vipHeld(HostContext ctx, Vip vip) {
        ctx.forget(VirtualIp.held(vip));
        return ctx.fact(VirtualIp.held(vip));
    }

    static long lagBytes(Pg primary, Pg standby) {
        long current = Psql.lsn(primary.sql("SELECT pg_current_wal_lsn()"));
        String replay = standby.sql("SELECT coalesce(pg_last_wal_replay_lsn()::text, '0/0')");
        return Math.max(0, current - Psql.lsn(replay));
    }

    /** dpkg's version order: is {@code a} older than {@code b}? */
    static boolean versionLess(Pg pg, String a, String b) {
        return pg.ctx().connection().exec(Cmd.of("dpkg", "--compare-versions", a, "lt", b)).ok();
    }

    /** The primary's package is older than the target, or it still runs older binaries than installed. */
    static boolean primaryNeedsUpgrade(HostContext ctx, PgSettings s, RollingState st) {
        Pg p = new Pg(ctx.on(st.primary), s);
        String installed = p.installed("postgresql-" + s.version());
        return versionLess(p, installed, st.target) || !runs(p.serverVersion(), upstream(installed));
    }

    // ---------------------------------------------------------------- standby upgrade

    static Operation packages(PgSettings s, RollingState st) {
        return ctx -> {
            Operation.Plan plan = Apt.present("postgresql-" + s.version() + "=" + st.target,
                    "postgresql-client-" + s.version() + "=" + st.target).plan(ctx);
            return plan;
        };
    }

    static TaskResult restartOnNewBinaries(Pg pg, RollingState st) {
        var c = pg.cluster();
        String upstream = upstream(st.target);
        if (c.online() && !pg.answers()) {
            c = pg.awaitAnswer(Duration.ofSeconds(60)); // a package's scripts may be restarting it right now
        }
        if (c.online() && runs(pg.serverVersion(), upstream)) {
            return TaskResult.ok("already runs " + upstream);
        }
        if (pg.ctx().checkMode()) {
            return TaskResult.changed("would " + (c.online() ? "restart" : "start") + " " + pg.name(), List.of("pg_ctlcluster restart"));
        }
        if (c.online()) {
            pg.restart();
        } else {
            pg.start();
        }
        return TaskResult.changed((c.online() ? "restarted" : "started") + " on " + pg.serverVersion(), List.of("pg_ctlcluster restart"));
    }

    static TaskResult caughtUp(HostContext ctx, PgSettings s, RollingState st, long maxLag) throws InterruptedException {
        Pg o = new Pg(ctx, s);
        Pg p = new Pg(ctx.on(st.primary), s);
        if (st.simulated || ctx.checkMode() && !o.online()) {
            return TaskResult.skipped("check mode: " + o.name() + " would be waited for here");
        }
        String address = p.ctx().host().address();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "";
        while (System.nanoTime() < deadline && !ctx.cancelled()) {
            if (o.online() && o.streamingFrom(address)) {
                long lag = lagBytes(p, o);
                last = "lag " + lag + " bytes";
                if (lag <= maxLag) {
                    return TaskResult.ok("streaming from " + p.name() + ", " + last);
                }
            } else {
                last = "receiver " + (o.online() ? o.receiver().map(Object::toString).orElse("not running") : "server down");
            }
            Thread.sleep(200);
        }
        return TaskResult.failed("not streaming and caught up from " + p.name() + " after 120 s (" + last + ")");
    }

    static TaskResult runsTarget(Pg pg, RollingState st) {
        if (pg.ctx().checkMode()) {
            return TaskResult.skipped("check mode");
        }
        String v = pg.serverVersion();
        String upstream = upstream(st.target);
        return runs(v, upstream) ? TaskResult.ok(v)
                : TaskResult.failed(pg.name() + " runs " + v + ", expected " + upstream);
    }

    /** Whether a server_version such as "15.20 (Debian 15.20-0+deb12u1)" is that upstream version. */
    static boolean runs(String serverVersion, String upstream) {
        return serverVersion.equals(upstream) || serverVersion.startsWith(upstream + " ");
    }

    /** 15.20-0+deb12u1 -> 15.20 */
    static String upstream(String debianVersion) {
        String v = debianVersion.contains(":") ? debianVersion.substring(debianVersion.indexOf(':') + 1) : debianVersion;
        return v.contains("-") ? v.substring(0, v.indexOf('-')) : v;
    }

    // ---------------------------------------------------------------- switchover

    /**
     * Before the stop, while writes still flow: the intent goes to the journal on both nodes, and a
     * CHECKPOINT flushes most dirty pages so the shutdown checkpoint is short. No read-only phase:
     * the fast shutdown itself refuses new writes and ends client sessions (as Patroni does), and
     * every commit before it is in the WAL the standby must replay before it is promoted.
     */
    static TaskResult prepareStop(Pg p, RollingState st) {
        st.switching = true;
        if (p.ctx().checkMode()) {
            return TaskResult.changed("would journal the switchover on both nodes and CHECKPOINT " + p.name(),
                    List.of("journal: started", "CHECKPOINT"));
        }
        // the intent, on both nodes, before anything changes: a run that follows a lost controller reads it
        long started = System.currentTimeMillis();
        for (String h : List.of(st.primary, st.standby)) {
            HostContext on = p.ctx().on(h);
            on.connection().exec(SwitchoverJournal.begin(p.settings(), st.primary, st.standby, started),
                    ExecOptions.as("root").timeout(Duration.ofSeconds(15))).check(h);
        }
        st.journalOpen = true;
        p.sql("CHECKPOINT");
        // the proof and the promotion will go through one psql session opened now, outside the window
        try {
            st.standbySql = StandbySql.open(new Pg(p.ctx().on(st.standby), p.settings()));
        } catch (RuntimeException e) {
            abortJournal(List.of(p, new Pg(p.ctx().on(st.standby), p.settings())));
            st.journalOpen = false;
            return TaskResult.failed("no psql session on " + st.standby + " (" + e.getMessage() + "); nothing was stopped");
        }
        return TaskResult.changed("switchover " + st.primary + " -> " + st.standby + " journaled on both nodes; CHECKPOINT done, writes still allowed",
                List.of("journal: started", "CHECKPOINT"));
    }

    static TaskResult vip(HostContext ctx, PgSettings s, boolean up, RollingState st) throws Exception {
        if (st.simulated && s.vip().isPresent()) {
            return TaskResult.changed("would " + (up ? "raise the VIP on " : "take the VIP off ") + ctx.host().name(), List.of("VIP"));
        }
        if (s.vip().isEmpty()) {
            if (up && st.writesBlockedAt > 0) {
                st.gapsMillis.add((System.nanoTime() - st.writesBlockedAt) / 1_000_000);
                st.writesBlockedAt = 0;
            }
            return TaskResult.skipped("no VIP in the inventory");
        }
        VirtualIp op = up ? VirtualIp.present(s.vip().get()) : VirtualIp.absent(s.vip().get());
        Operation.Plan plan = op.plan(ctx);
        if (plan.steps().isEmpty() || ctx.checkMode()) {
            return plan.steps().isEmpty() ? TaskResult.ok(plan.message())
                    : TaskResult.changed("would " + plan.message(), plan.steps().stream().map(x -> x.command().toString()).toList());
        }
        List<String> done = new ArrayList<>();
        for (Step step : plan.steps()) {
            ctx.connection().exec(step.command(), ExecOptions.as("root")).check(ctx.host().name());
            done.add(step.command().toString());
            if (up && st.writesBlockedAt > 0 && st.vipUpAt == 0) {
                st.vipUpAt = System.nanoTime(); // the address answers from here on (the first ARP follows at once)
            }
        }
        op.changes().forEach(ctx::forget);
        if (up && st.writesBlockedAt > 0) {
            st.gapsMillis.add((st.vipUpAt - st.writesBlockedAt) / 1_000_000);
            st.writesBlockedAt = 0;
            st.vipUpAt = 0;
        }
        return TaskResult.changed(plan.message(), done);
    }

    static TaskResult stopAndFence(Pg p, RollingState st) {
        st.writesBlockedAt = System.nanoTime();
        if (p.ctx().checkMode()) {
            st.checkpointLsn = 0;
            return TaskResult.changed("would stop " + p.name() + " (fast) and fence it as a standby",
                    List.of("pg_ctl stop -m fast", "standby.signal + primary_conninfo"));
        }
        // one round trip: fast stop, wait for the postmaster to exit (10 ms steps; pg_ctl -w polls every
        // 100 ms), pg_controldata, and the fence written before anything else can start it
        String standbyAddress = p.ctx().inventory().host(st.standby).address();
        Map<String, String> control = p.stopAndFence(p.standbyConf(standbyAddress, PgSettings.slotFor(p.name())));
        String state = control.getOrDefault("Database cluster state", "?");
        if (!"shut down".equals(state)) {
            return TaskResult.failed(p.name() + " did not shut down cleanly (pg_controldata: " + state + ")");
        }
        st.checkpointLsn = Psql.lsn(control.get("Latest checkpoint location"));
        st.fenceCheckpoint = st.checkpointLsn;
        st.switching = false;
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
        if (!(replay > checkpoint && received > checkpoint)) {
            return notPromoted(p, o, s, st, o.name() + " replayed up to " + Psql.lsnText(replay) + " (received " + Psql.lsnText(received)
                    + "), not past " + p.name() + "'s shutdown checkpoint at " + cp,
                    "Next: find out why " + o.name() + " stopped receiving WAL (pg_stat_wal_receiver, its log), then run again");
        }
        String stillInRecovery;
        try {
            stillInRecovery = session.promote(p, cp);
        } catch (UnreachableException | CommandTimeoutException e) {
            return TaskResult.failed("the promotion of " + o.name() + " was asked for and " + o.name() + " cannot be read now ("
                    + e.getMessage() + "); " + p.name() + " stays stopped and fenced, with the VIP. Next: when " + o.name()
                    + " answers, run again: the journal tells the next run to finish this switchover");
        }
        if (stillInRecovery.endsWith("t")) {
            return TaskResult.failed(o.name() + " did not leave recovery after pg_promote; " + p.name() + " is stopped and the VIP is down: "
                    + "check " + o.name() + "'s log, promote it by hand (pg_ctlcluster " + s.version() + " " + s.cluster() + " promote) "
                    + "or start " + p.name() + " again");
        }
        String from = st.primary;
        st.checkpointLsn = -1;
        st.swap();
        st.oldPrimaryNeedsRejoin = true;
        st.switchovers.add(from + " -> " + st.primary);
        return TaskResult.changed("replayed " + Psql.lsnText(replay) + " > shutdown checkpoint " + cp + "; promoted " + o.name(),
                List.of("SELECT pg_promote()"));
    }

    /**
     * The proof failed: nothing was promoted, so the old primary serves again (fence lifted, started,
     * writes allowed, the VIP it kept made sure of) and the journal says the switchover was undone.
     */
    static TaskResult notPromoted(Pg p, Pg o, PgSettings s, RollingState st, String why, String next) throws Exception {
        st.checkpointLsn = -1;
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
        return TaskResult.failed("NOT promoted: " + why + "; " + p.name() + " was started again" + vipBack + ". " + next);
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


    // ---------------------------------------------------------------- rejoin

    /** Brings the old primary back as a standby of the new one by the cheapest safe method. */
    static TaskResult rejoin(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        Pg old = new Pg(ctx, s);
        Pg np = new Pg(ctx.on(st.primary), s);
        String primaryAddress = np.ctx().host().address();
        String slot = PgSettings.slotFor(old.name());
        if (st.simulated) {
            st.rejoinMethod = "chosen after the switchover";
            return TaskResult.changed("would rejoin " + old.name() + " as a standby of " + np.name()
                    + ": directly when its shutdown checkpoint precedes the new timeline, else pg_rewind, else pg_basebackup", List.of("rejoin"));
        }
        if (!ctx.checkMode()) {
            old.recoverCutClone();
        }
        if (old.online()) {
            if (!old.inRecovery()) {
                return TaskResult.failed(old.name() + " is running read-write next to " + np.name() + " (split brain): stop it, check it for "
                        + "writes " + np.name() + " lacks, then run again");
            }
            // fenced and started by something else (a package's postinst, a reboot): a standby already
            if (streamsSoon(old, primaryAddress, Duration.ofSeconds(ctx.checkMode() ? 1 : 15))) {
                if (st.fenceCheckpoint >= 0) {
                    rejoined(st, "direct", "");
                    st.notes.add(old.name() + " was fenced at its shutdown checkpoint; something else (a package's scripts, a reboot) "
                            + "started it, as a standby");
                }
                st.oldPrimaryNeedsRejoin = false;
                return TaskResult.ok("already streams from " + np.name() + " (fenced at the switchover, it started as a standby)");
            }
            if (ctx.checkMode()) {
                return TaskResult.changed("would stop " + old.name() + " (a standby not streaming) and rejoin it", List.of("rejoin"));
            }
            old.stopFast(); // a standby that does not stream: stopping it loses nothing
        }
        Map<String, String> control = old.controlData();
        String dbState = control.get("Database cluster state");
        boolean clean = "shut down".equals(dbState) || "shut down in recovery".equals(dbState);
        // fenced at its shutdown checkpoint, it never wrote after it; otherwise only a clean primary shutdown tells where its WAL ends
        long oldEnd = st.fenceCheckpoint >= 0 ? st.fenceCheckpoint
                : "shut down".equals(dbState) ? Psql.lsn(control.get("Latest checkpoint location")) : -1;
        long switchpoint = switchpoint(np);
        boolean direct = clean && oldEnd >= 0 && switchpoint > oldEnd;
        if (!direct && st.fenceCheckpoint < 0 && "shut down in recovery".equals(dbState)) {
            clean = true; // a standby stopped cleanly; where its WAL ends is unknown: pg_rewind decides
        }
        boolean hints = "on".equals(control.get("wal_log_hints setting")) || !"0".equals(control.getOrDefault("Data page checksum version", "0"));
        if (ctx.checkMode()) {
            st.rejoinMethod = direct ? "direct" : hints ? "pg_rewind" : "pg_basebackup";
            return TaskResult.changed("would rejoin " + old.name() + " " + (direct ? "directly" : hints ? "with pg_rewind" : "with pg_basebackup"),
                    List.of("rejoin"));
        }
        String method = ctx.var("rejoin-method", "auto");
        if (!List.of("auto", "direct", "pg_rewind", "pg_basebackup").contains(method)) {
            return TaskResult.failed("rejoin-method must be auto, direct, pg_rewind or pg_basebackup, got '" + method + "'");
        }
        if (method.equals("direct") && !direct) {
            return TaskResult.failed("refusing a direct rejoin of " + old.name() + ": "
                    + (clean ? "its WAL goes past the new timeline's switch point" : "it was not shut down cleanly")
                    + "; use -e rejoin-method=auto (pg_rewind or pg_basebackup)");
        }
        List<String> tried = new ArrayList<>();
        boolean forced = !method.equals("auto") && !method.equals("direct");
        if (forced) {
            tried.add("-e rejoin-method=" + method);
            direct = false;
            hints = hints && method.equals("pg_rewind");
        }
        if (direct) {
            old.writeStandbyConfig(primaryAddress, slot);
            old.startNoWait(); // the wait for streaming below asks the server itself, not systemd's view of the unit
            if (streamsSoon(old, primaryAddress, Duration.ofSeconds(20))) {
                return rejoined(st, "direct", "its WAL ends at " + Psql.lsnText(oldEnd) + ", before the switch point " + Psql.lsnText(switchpoint));
            }
            tried.add("direct rejoin did not stream");
            if (old.online()) {
                old.stopFast();
            }
        } else if (!forced) {
            tried.add(clean ? "its WAL goes past the switch point" : "it was not shut down cleanly");
        }
        if (hints) {
            ctx.progress("pg_rewind from " + np.name());
            np.sql("CHECKPOINT"); // a just-promoted source must show its new timeline in pg_control (pg_rewind docs)
            var r = Detached.run(ctx, "rewind-" + s.version() + "-" + s.cluster(), Cmd.of(old.bin("pg_rewind"), "-D", old.dataDir(), "--source-server",
                    "host=" + primaryAddress + " port=" + s.port() + " user=" + s.replicationUser() + " dbname=postgres", "--progress"),
                    "postgres", Duration.ofMinutes(30));
            if (r.ok()) {
                old.writeStandbyConfig(primaryAddress, slot);
                old.start();
                if (streamsSoon(old, primaryAddress, Duration.ofSeconds(30))) {
                    return rejoined(st, "pg_rewind", String.join("; ", tried));
                }
                old.stopFast();
                tried.add("pg_rewind: did not stream");
            } else {
                tried.add("pg_rewind failed: " + r.stderr().strip().lines().reduce((a, b) -> b).orElse(""));
            }
        }
        ctx.progress("pg_basebackup from " + np.name());
        old.cloneFrom(primaryAddress, slot);
        if (!streamsSoon(old, primaryAddress, Duration.ofSeconds(60))) {
            return TaskResult.failed("cloned with pg_basebackup but " + old.name() + " does not stream from " + np.name());
        }
        return rejoined(st, "pg_basebackup", String.join("; ", tried));
    }

    private static TaskResult rejoined(RollingState st, String method, String why) {
        st.rejoinMethod = st.rejoinMethod.isEmpty() ? method : st.rejoinMethod + ", then " + method;
        st.oldPrimaryNeedsRejoin = false;
        st.standbyDown = false;
        return TaskResult.changed("rejoined " + st.standby + " as a standby of " + st.primary + " by " + method
                + (why.isEmpty() ? "" : " (" + why + ")"), List.of(method));
    }

    /**
     * A rejoined old primary keeps the slots it served as primary; on a standby a slot still holds
     * back WAL removal, so pg_wal would grow without end. Ours (pgplay_*) are dropped (the step
     * that makes a node primary creates them again); others are only reported.
     */
    static TaskResult dropStaleSlots(HostContext ctx, PgSettings s, RollingState st) {
        if (st.simulated) {
            return TaskResult.skipped("check mode: after the switchover");
        }
        Pg pg = new Pg(ctx, s);
        if (!pg.online() || !pg.inRecovery()) {
            return TaskResult.skipped(pg.name() + " is not a running standby");
        }
        List<List<String>> rows = pg.rows("SELECT slot_name, slot_name LIKE 'pgplay\\_%' FROM pg_replication_slots WHERE NOT active");
        List<String> ours = rows.stream().filter(r -> "t".equals(r.get(1))).map(r -> r.get(0)).toList();
        List<String> others = rows.stream().filter(r -> !"t".equals(r.get(1))).map(r -> r.get(0)).toList();
        if (!others.isEmpty()) {
            st.notes.add(pg.name() + " (standby) has inactive replication slots not made by pgplay: " + String.join(", ", others)
                    + "; they keep WAL on it until dropped");
        }
        if (ours.isEmpty()) {
            return TaskResult.ok("no stale slots");
        }
        if (!ctx.checkMode()) {
            for (String slot : ours) {
                pg.sql("SELECT pg_drop_replication_slot(" + Psql.literal(slot) + ")");
            }
        }
        return TaskResult.changed((ctx.checkMode() ? "would drop " : "dropped ") + String.join(", ", ours), List.of("pg_drop_replication_slot"));
    }

    /** Where the new primary's timeline began: the end of the WAL it took over. */
    static long switchpoint(Pg np) {
        // the current timeline (pg_control_checkpoint() lags until the first checkpoint after promotion)
        String file = np.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)") + ".history";
        String history = np.sql("SELECT pg_read_file('pg_wal/' || " + Psql.literal(file) + ")");
        long last = -1;
        for (String line : history.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].matches("\\d+")) {
                last = Psql.lsn(f[1]);
            }
        }
        return last;
    }

    static boolean streamsSoon(Pg pg, String address, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000_000L);
            if (pg.waitStreamingFrom(address, left)) {
                return true;
            }
            Thread.sleep(200); // server not accepting connections yet
        }
        return false;
    }

    // ---------------------------------------------------------------- report

    static TaskResult report(HostContext ctx, PgSettings s, RollingState st) {
        List<String> lines = new ArrayList<>();
        for (String h : List.of(s.primary(), s.standbys().get(0))) {
            Pg pg = new Pg(ctx.on(h), s);
            String now = pg.installed("postgresql-" + s.version());
            lines.add(String.format("%-10s %s -> %s%s", h, st.versionsBefore.getOrDefault(h, "?"), now,
                    h.equals(st.primary) ? "  (primary)" : "  (standby)"));
        }
        lines.add("switchovers: " + (st.switchovers.isEmpty() ? "none" : String.join(", ", st.switchovers)));
        lines.add("rejoin method: " + (st.rejoinMethod.isEmpty() ? "none needed" : st.rejoinMethod));
        lines.add("writes refused (blocked until the VIP was up on the new primary): "
                + (st.gapsMillis.isEmpty() ? "none" : st.gapsMillis.stream().map(g -> g + " ms").toList()));
        lines.addAll(st.notes);
        lines.add("next: applications reconnect through the VIP by themselves; check their pools and logs. "
                + (st.primary.equals(s.primary()) ? "" : "The inventory's roles.primary is " + s.primary() + ", the primary is now "
                + st.primary + ": update hosts.conf or run again with -e switchback=true."));
        return TaskResult.ok("primary " + st.primary + ", standby " + st.standby, Map.of("report", lines));
    }
}
