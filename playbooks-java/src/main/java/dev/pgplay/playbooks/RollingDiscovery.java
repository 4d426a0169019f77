package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.SwitchoverJournal;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import java.time.Duration;
import java.util.List;

/** Where the pair stands: live roles, versions, an open switchover journal handed to {@link CutSwitchover}. A step of {@link RollingMinor}. */
final class RollingDiscovery {
    private RollingDiscovery() {
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
}
