package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.SwitchoverJournal;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.Psql;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Where the cluster stands: live roles (one writable node, refused otherwise), versions, an open
 * switchover journal handed to {@link CutSwitchover}, and the standby paired with the primary for
 * the switchover. A step of {@link RollingMinor}.
 */
final class RollingDiscovery {
    private RollingDiscovery() {
    }

    // ---------------------------------------------------------------- discovery and pre-flight

    static TaskResult discover(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        List<Pg> all = new ArrayList<>();
        for (String h : RollingMinor.nodes(s)) {
            all.add(new Pg(ctx.on(h), s));
        }
        String resumed = "";
        for (Pg pg : all) {
            awaitEarlierPackages(pg);
        }
        for (Pg pg : all) {
            if (!awaitShutdown(pg, st)) {
                return TaskResult.failed(Switchover.stillStopping(pg, st.stoppingLimit) + " (nothing was read or changed)");
            }
        }
        List<SwitchoverJournal> journals = new ArrayList<>();
        for (Pg pg : all) {
            journals.add(SwitchoverJournal.readIfReachable(pg.ctx(), s));
        }
        SwitchoverJournal journal = SwitchoverJournal.merge(journals);
        String rejoins = null;
        if (journal.open()) {
            Pg a = byName(all, journal.from());
            Pg b = byName(all, journal.to());
            if (a == null || b == null) {
                return TaskResult.failed("the switchover journal (" + SwitchoverJournal.path(s) + ") names " + journal.from() + " -> " + journal.to()
                        + ", which are not both nodes of the inventory's roles; put them back in hosts.conf, then run again");
            }
            CutSwitchover.Outcome o = new CutSwitchover(s, journal, a, b).resolve();
            if (o.failure().isPresent()) {
                return TaskResult.failed(o.failure().get());
            }
            resumed = o.what() + "; ";
            st.notes.add("a switchover cut by a lost controller: " + o.what());
            st.journalOpen = o.promoted();
            st.fenceCheckpoint = o.promoted() ? o.checkpoint() : -1;
            rejoins = o.promoted() ? journal.from() : null;
            // the cut run may have been lost before the DNS hook: this run calls it (a hook must bear a second call)
            st.promotedFrom = rejoins;
        }
        Map<String, PgFacts.Cluster> clusters = new LinkedHashMap<>();
        List<String> writable = new ArrayList<>();
        for (Pg pg : all) {
            PgFacts.Cluster c = pg.cluster();
            clusters.put(pg.name(), c);
            if (c.online() && !c.inRecovery()) {
                writable.add(pg.name());
            }
        }
        if (writable.size() > 1) {
            return TaskResult.failed(String.join(" and ", writable) + " are read-write (split brain); stop the ones that must not serve, "
                    + "check them for writes the other lacks, then run again");
        }
        if (writable.isEmpty()) {
            return TaskResult.failed("no read-write node (" + all.stream().map(pg -> pg.name() + ": " + clusters.get(pg.name()).status()).collect(Collectors.joining(", "))
                    + "); start the primary or promote the right standby deliberately, then run again");
        }
        Pg p = byName(all, writable.get(0));
        // down and not fenced as a standby: a primary of an earlier (older pgplay) switchover, which must rejoin, never start as it is
        List<String> unfenced = new ArrayList<>();
        for (Pg pg : all) {
            if (pg != p && !clusters.get(pg.name()).online() && !pg.fenced()) {
                unfenced.add(pg.name());
            }
        }
        if (rejoins == null && unfenced.size() > 1) {
            return TaskResult.failed(String.join(" and ", unfenced) + " are down without standby.signal: each may hold writes " + p.name()
                    + " lacks; find out which was primary last, then rebuild the others (cluster-setup -e force-reclone=true --limit HOST)");
        }
        String partner = rejoins != null ? rejoins : !unfenced.isEmpty() ? unfenced.get(0) : newPrimary(ctx, s, p, all, clusters);
        if (partner == null) {
            return TaskResult.failed("no standby can take over from " + p.name() + ": " + (s.standbys().isEmpty() ? "roles.standby is empty"
                    : "-e new-primary names " + ctx.var("new-primary", "") + ", which is the primary or a cascading standby"));
        }
        Pg o = byName(all, partner);
        st.primary = p.name();
        st.standby = o.name();
        st.others = all.stream().map(Pg::name).filter(h -> !h.equals(st.primary) && !h.equals(st.standby)).toList();
        PgFacts.Cluster other = clusters.get(o.name());
        st.standbyDown = !other.online();
        boolean signal = o.fenced();
        // down without standby.signal (an older pgplay's cut run), or fenced by the switchover in the journal and not streaming yet
        st.oldPrimaryNeedsRejoin = !other.online() && !signal
                || st.journalOpen && !(other.online() && other.inRecovery() && o.streamingFrom(p.ctx().host().address()));
        for (Pg pg : all) {
            st.versionsBefore.putIfAbsent(pg.name(), pg.installed("postgresql-" + s.version()));
        }
        String how = st.journalOpen && st.oldPrimaryNeedsRejoin ? o.name() + " is the fenced old primary of that switchover, it will rejoin"
                : st.oldPrimaryNeedsRejoin ? o.name() + " is down without standby.signal: an earlier run switched over, it will rejoin"
                : st.standbyDown ? o.name() + " (standby) is down: it will be started" : o.name() + " is a running standby";
        if (!st.primary.equals(s.primary())) {
            st.notes.add(st.primary + " is primary now, the inventory says " + s.primary() + " (an earlier switchover)");
        }
        String more = st.others.isEmpty() ? "" : "; other standbys, upgraded first one at a time: " + String.join(", ", st.others);
        return TaskResult.ok(resumed + "primary " + st.primary + "; " + how + more);
    }

    /**
     * The standby to switch over to: {@code -e new-primary}, else the running standby that has
     * replayed the most WAL (the inventory's order breaks a tie), else the first standby. Cascading
     * standbys (host var {@code upstream}) are never chosen; null when none can be.
     */
    static String newPrimary(HostContext ctx, PgSettings s, Pg p, List<Pg> all, Map<String, PgFacts.Cluster> clusters) {
        List<Pg> candidates = all.stream().filter(pg -> pg != p && RollingMinor.upstream(ctx, pg.name()).isEmpty()).toList();
        String wanted = ctx.var("new-primary", "");
        if (wanted.equals(p.name())) {
            ctx.progress(wanted + " (-e new-primary) is the primary already");
        } else if (!wanted.isEmpty()) {
            return candidates.stream().map(Pg::name).filter(wanted::equals).findFirst().orElse(null);
        }
        Pg best = null;
        long bestLsn = -1;
        for (Pg pg : candidates) {
            PgFacts.Cluster c = clusters.get(pg.name());
            if (c.online() && c.inRecovery()) {
                long lsn = Psql.lsn(pg.sql("SELECT coalesce(pg_last_wal_replay_lsn()::text, '0/0')"));
                if (lsn > bestLsn) {
                    best = pg;
                    bestLsn = lsn;
                }
            }
        }
        return best != null ? best.name() : candidates.isEmpty() ? null : candidates.get(0).name();
    }

    private static Pg byName(List<Pg> all, String name) {
        return all.stream().filter(pg -> pg.name().equals(name)).findFirst().orElse(null);
    }

    /**
     * A postmaster an earlier (cut) run stopped at its shutdown checkpoint may still be ending: it
     * no longer takes connections from the listen queue, so a psql sent now would wait there until
     * it exits, then fail. Waited for, as the switchover itself does ({@link Pg#awaitExit}); true
     * when none is shutting down (any more). Check mode only reads.
     */
    static boolean awaitShutdown(Pg pg, RollingState st) {
        return pg.ctx().checkMode() || pg.awaitExit(st.stoppingLimit);
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
}
