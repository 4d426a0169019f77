package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Rolling minor upgrade of a primary and its standbys behind a VIP, losing no acknowledged write:
 * pre-flight; the standbys that will not be promoted upgraded first, one at a time; then the
 * standby chosen for the switchover ({@code -e new-primary}, else the one that replayed the most
 * WAL); switch over (writes blocked and client sessions ended, checkpoint, fast stop, proof that
 * the standby replayed the old primary's shutdown checkpoint, promotion, VIP moved with gratuitous
 * ARP); the other standbys follow the new primary ({@link FollowPrimary}; cascading standbys,
 * host var {@code upstream}, keep their upstream); upgrade the old primary and rejoin it as a
 * standby by the cheapest safe method (direct, pg_rewind, pg_basebackup).
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
                        "auto", "direct", "pg_rewind", "pg_basebackup"),
                dev.pgplay.core.run.PlaybookOption.string("new-primary", "",
                        "the standby to switch over to (default: the one that has replayed the most WAL)"),
                dev.pgplay.core.run.PlaybookOption.integer("pgbouncer-pause-timeout-seconds", 10, 1, 3600,
                        "with switch method pgbouncer: how long PAUSE may wait for running transactions before the switchover is called off"),
                dev.pgplay.core.run.PlaybookOption.integer("pgbouncer-resume-after-seconds", 60, 5, 3600,
                        "with switch method pgbouncer: a timer on the PgBouncer host resumes it after this long should the controller be lost"));
    }

    @Override
    public String description() {
        return "minor upgrade of a primary and its standbys: standbys first, switchover behind the VIP with no lost writes, old primary rejoins";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        PgSettings s = PgSettings.of(inventory, extra);
        validate(inventory, s, extra);
        boolean switchback = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("switchback", "false")));
        long maxLag = Long.parseLong(String.valueOf(extra.getOrDefault("max-lag-bytes", DEFAULT_MAX_LAG)));
        RollingState st = new RollingState();
        st.bouncer = PgBouncer.of(inventory, s, extra).orElse(null);
        st.names = NameSwitch.of(inventory, s, extra).orElse(null);
        String hosts = String.join(",", nodes(s));
        Predicate<HostContext> onPrimary = ctx -> st.isPrimary(ctx.host().name());
        Predicate<HostContext> onStandby = ctx -> st.isStandby(ctx.host().name());
        Predicate<HostContext> onOther = ctx -> st.isOther(ctx.host().name());
        // a node that was primary and is down without standby.signal must never be started as it is
        Predicate<HostContext> onRunningStandby = ctx -> onStandby.test(ctx) && !st.oldPrimaryNeedsRejoin;

        Play where = Play.of("rolling minor upgrade of PostgreSQL " + s.version() + ": where the cluster stands", hosts).failFast()
                .task(Task.of("discover which node is primary", ctx -> RollingDiscovery.discover(ctx, s, st)).runOnce())
                .task(Task.of("pre-flight checks (nothing is changed if one fails)", ctx -> RollingPreflight.preflight(ctx, s, st, maxLag)).runOnce())
                .task(bouncerLeads("PgBouncer leads to the primary, not paused", st))
                .task(namesLead("clients' name leads to the primary (hosts alias)", st))
                .task(Task.of("VIP on the primary (gratuitous ARP)", ctx -> Switchover.vip(ctx, s, true, st)).when(onPrimary))
                .task(Task.of("VIP not on the standbys", ctx -> Switchover.vip(ctx, s, false, st))
                        .when(ctx -> !onPrimary.test(ctx) && RollingPreflight.vipHeld(ctx, s)));
        // the standbys that will not be promoted, one at a time, each checked before the next (max_fail 0)
        Play others = Play.of("other standbys first, one at a time", hosts).serial("1").failFast()
                .task(Task.of("standby: install the new packages", UpgradeStandby.packages(s, st)).when(onOther))
                .task(Task.of("standby: run on the new binaries", ctx -> UpgradeStandby.restartOnNewBinaries(new Pg(ctx, s), st)).when(onOther))
                // a run after a lost controller: a switchover may have happened before this standby was re-pointed
                .task(Task.of("standby: follows the primary", ctx -> FollowPrimary.follow(ctx, s, st)).when(following(onOther)))
                .task(Task.of("standby: streaming and caught up", ctx -> UpgradeStandby.caughtUp(ctx, s, st, upstreamOrPrimary(ctx, st), maxLag))
                        .when(onOther))
                .task(Task.of("standby: runs the new version", ctx -> UpgradeStandby.runsTarget(new Pg(ctx, s), st)).when(onOther));
        Play play = Play.of("rolling minor upgrade of PostgreSQL " + s.version(), hosts).failFast()
                .task(Task.of("standby: install the new packages", UpgradeStandby.packages(s, st)).when(onRunningStandby))
                .task(Task.of("standby: run on the new binaries", ctx -> UpgradeStandby.restartOnNewBinaries(new Pg(ctx, s), st)).when(onRunningStandby))
                .task(Task.of("standby: streaming and caught up", ctx -> UpgradeStandby.caughtUp(ctx, s, st, maxLag)).when(onRunningStandby))
                .task(Task.of("standby: runs the new version", ctx -> UpgradeStandby.runsTarget(new Pg(ctx, s), st)).when(onRunningStandby));
        boolean forceSwitch = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("switchover", "false")));
        Predicate<HostContext> needsSwitch = ctx -> !st.oldPrimaryNeedsRejoin
                && (forceSwitch && st.switchovers.isEmpty() || UpgradeStandby.primaryNeedsUpgrade(ctx, s, st));
        play = withSwitchover(play, s, st, needsSwitch, "");
        play = play
                .task(Task.of("other standbys: follow the primary", ctx -> FollowPrimary.follow(ctx, s, st)).when(following(onOther)))
                .task(Task.of("old primary: install the new packages", UpgradeStandby.packages(s, st)).when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)))
                .task(Task.of("old primary: rejoin as a standby (direct, else pg_rewind, else pg_basebackup)", ctx -> Rejoin.rejoin(ctx, s, st))
                        .when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("old primary: streaming and caught up", ctx -> UpgradeStandby.caughtUp(ctx, s, st, maxLag)).when(onStandby))
                .task(Task.of("old primary: runs the new version", ctx -> UpgradeStandby.runsTarget(new Pg(ctx, s), st)).when(onStandby))
                .task(Task.of("standby: drop the slots it kept from its time as primary", ctx -> Rejoin.dropStaleSlots(ctx, s, st)).when(onStandby))
                .task(Task.of("switchover journal: done", ctx -> Switchover.closeJournal(ctx, s, st)).runOnce().when(ctx -> st.journalOpen));
        if (switchback) {
            Predicate<HostContext> back = ctx -> !s.primary().equals(st.primary);
            play = withSwitchover(play, s, st, back, "switchback: ");
            play = play
                    .task(Task.of("switchback: other standbys follow the primary", ctx -> FollowPrimary.follow(ctx, s, st)).when(following(onOther)))
                    .task(Task.of("switchback: old primary rejoins as a standby", ctx -> Rejoin.rejoin(ctx, s, st))
                            .when(ctx -> st.oldPrimaryNeedsRejoin && onStandby.test(ctx)).irreversible(Duration.ofMinutes(30)))
                    .task(Task.of("switchback: streaming and caught up", ctx -> UpgradeStandby.caughtUp(ctx, s, st, maxLag)).when(onStandby))
                    .task(Task.of("switchback: drop the standby's slots from its time as primary", ctx -> Rejoin.dropStaleSlots(ctx, s, st)).when(onStandby))
                    .task(Task.of("switchback: switchover journal: done", ctx -> Switchover.closeJournal(ctx, s, st)).runOnce().when(ctx -> st.journalOpen));
        }
        play = play
                .task(Task.of("VIP only on the primary", ctx -> Switchover.vip(ctx, s, st.isPrimary(ctx.host().name()), st)))
                .task(bouncerLeads("PgBouncer leads to the primary, not paused", st))
                .task(namesLead("clients' name leads to the primary (hosts alias)", st))
                .task(Task.of("report", ctx -> report(ctx, s, st)).runOnce());
        return List.of(where, others, play);
    }

    /** PgBouncer leads to whichever node is primary and is not paused (run once; skipped without switch method pgbouncer). */
    static Task bouncerLeads(String name, RollingState st) {
        return Task.of(name, ctx -> st.bouncer.lead(ctx, st, st.primary)).runOnce().when(ctx -> st.bouncer != null);
    }

    /** The clients' name leads to whichever node is primary (run once; skipped without hosts-alias or dns-hook). */
    static Task namesLead(String name, RollingState st) {
        return Task.of(name, ctx -> st.names.lead(ctx, st.simulated, st.primary, null)).runOnce().when(ctx -> st.names != null);
    }

    /** The primary of the inventory, then its standbys. */
    static List<String> nodes(PgSettings s) {
        List<String> all = new ArrayList<>();
        all.add(s.primary());
        all.addAll(s.standbys());
        return all;
    }

    /** A cascading standby's upstream (host var {@code upstream}, another standby); empty for one that follows the primary. */
    static String upstream(HostContext ctx, String host) {
        return ctx.inventory().host(host).varString("upstream", "");
    }

    private static String upstreamOrPrimary(HostContext ctx, RollingState st) {
        String up = upstream(ctx, ctx.host().name());
        return up.isEmpty() ? st.primary : up;
    }

    /** Standbys that follow the primary (not cascading ones: they keep their upstream). */
    private static Predicate<HostContext> following(Predicate<HostContext> others) {
        return ctx -> others.test(ctx) && upstream(ctx, ctx.host().name()).isEmpty();
    }

    /** -e new-primary and the standbys' upstream vars, before any host is contacted. */
    static void validate(Inventory inventory, PgSettings s, Map<String, Object> extra) {
        String wanted = String.valueOf(extra.getOrDefault("new-primary", ""));
        for (String h : s.standbys()) {
            String up = inventory.host(h).varString("upstream", "");
            if (!up.isEmpty() && (up.equals(h) || !s.standbys().contains(up))) {
                throw new IllegalArgumentException(inventory.host(h).varOrigin("upstream") + ": " + h + "'s upstream = " + up
                        + ": a cascading standby's upstream must be another standby of roles.standby " + s.standbys()
                        + " (a standby of the primary needs no upstream)");
            }
            if (!up.isEmpty() && h.equals(wanted)) {
                throw new IllegalArgumentException("-e new-primary=" + wanted + ": " + h + " is a cascading standby (upstream = " + up
                        + "); name a standby of the primary");
            }
        }
        if (!wanted.isEmpty() && !s.standbys().contains(wanted)) {
            throw new IllegalArgumentException("-e new-primary=" + wanted + ": not a standby of roles.standby " + s.standbys());
        }
    }

    /** The switchover steps, each guarded by {@code needed} and by the host's live role. */
    static Play withSwitchover(Play play, PgSettings s, RollingState st, Predicate<HostContext> needed, String label) {
        return play
                .task(Task.of(label + "primary: journal the switchover, CHECKPOINT (writes still allowed)", ctx -> Switchover.prepareStop(new Pg(ctx, s), st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && needed.test(ctx)))
                .task(Task.of(label + "PgBouncer: PAUSE (client queries wait)", ctx -> {
                    TaskResult r = st.bouncer.pause(ctx, st);
                    if (r instanceof TaskResult.Failed) {
                        Switchover.undoStart(new Pg(ctx.on(st.primary), s), st);
                    }
                    return r;
                }).runOnce().when(ctx -> st.switching && st.bouncer != null))
                .task(Task.of(label + "primary: fast shutdown (writes refused from here), fenced as a standby", ctx -> Switchover.stopAndFence(new Pg(ctx, s), st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && st.switching))
                .task(Task.of(label + "standby: prove it has every byte of the primary's WAL, then promote", ctx -> Switchover.proveAndPromote(ctx, s, st))
                        .when(ctx -> st.isStandby(ctx.host().name()) && st.checkpointLsn >= 0).irreversible(Duration.ofMinutes(2)))
                .task(Task.of(label + "new primary: raise the VIP (gratuitous ARP)", ctx -> Switchover.vip(ctx, s, true, st))
                        .when(ctx -> st.isPrimary(ctx.host().name()) && st.writesBlockedAt > 0))
                .task(bouncerLeads(label + "PgBouncer: lead to the new primary, RESUME", st))
                .task(Task.of(label + "clients' name: lead to the new primary (hosts alias, DNS hook)", ctx -> {
                    String from = st.promotedFrom;
                    st.promotedFrom = null;
                    return st.names.lead(ctx, st.simulated, st.primary, from);
                }).runOnce().when(ctx -> st.names != null && st.promotedFrom != null))
                .task(Task.of(label + "old primary: take the VIP off", ctx -> Switchover.vip(ctx, s, false, st))
                        .when(ctx -> st.isStandby(ctx.host().name()) && RollingPreflight.vipHeld(ctx, s)))
                .task(Task.of(label + "old primary: its shutdown ends (the last WAL handed over)", ctx -> Switchover.awaitExit(new Pg(ctx, s), st))
                        .when(ctx -> ctx.host().name().equals(st.stillStopping)))
                .task(Task.of(label + "new primary: replication slot for the old primary", ctx ->
                        ClusterSetup.slotsFor(s.port(), List.of(st.standby)).run(ctx)).when(ctx -> st.isPrimary(ctx.host().name()) && st.oldPrimaryNeedsRejoin));
    }

    // ---------------------------------------------------------------- report

    static TaskResult report(HostContext ctx, PgSettings s, RollingState st) {
        List<String> lines = new ArrayList<>();
        Map<String, String> versions = new java.util.LinkedHashMap<>();
        for (String h : nodes(s)) {
            Pg pg = new Pg(ctx.on(h), s);
            String now = pg.installed("postgresql-" + s.version());
            versions.put(h, st.versionsBefore.getOrDefault(h, "?") + " -> " + now + (h.equals(st.primary) ? " (primary)" : " (standby)"));
            lines.add(String.format("%-10s %s -> %s%s", h, st.versionsBefore.getOrDefault(h, "?"), now,
                    h.equals(st.primary) ? "  (primary)" : "  (standby)"));
        }
        lines.add("switchovers: " + (st.switchovers.isEmpty() ? "none" : String.join(", ", st.switchovers)));
        lines.add("rejoin method: " + (st.rejoinMethod.isEmpty() ? "none needed" : st.rejoinMethod));
        for (String h : st.others) {
            String up = upstream(ctx, h);
            Pg pg = new Pg(ctx.on(h), s);
            String from = up.isEmpty() ? st.primary : up;
            lines.add(h + ": " + (ctx.checkMode() ? "would follow " + from
                    : pg.streamingFrom(ctx.inventory().host(from).address()) ? "streams from " + from : "does NOT stream from " + from
                    + " (" + pg.receiver().map(Object::toString).orElse("no WAL receiver") + ")") + (up.isEmpty() ? "" : " (cascading)"));
        }
        lines.add("writes refused (blocked until the VIP was up on the new primary): "
                + (st.gapsMillis.isEmpty() ? "none" : st.gapsMillis.stream().map(g -> g + " ms").toList()));
        lines.addAll(st.notes);
        lines.add("next: applications reconnect through the VIP by themselves; check their pools and logs. "
                + (st.primary.equals(s.primary()) ? "" : "The inventory's roles.primary is " + s.primary() + ", the primary is now "
                + st.primary + ": update hosts.conf or run again with -e switchback=true."));
        return TaskResult.ok("primary " + st.primary + ", standby " + st.standby + (st.others.isEmpty() ? "" : ", " + String.join(", ", st.others)), Map.of("report", lines, dev.pgplay.core.output.HtmlReport.VERSIONS, versions));
    }
}
