package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.StandbySql;
import dev.pgplay.postgres.SwitchoverJournal;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.ssh.CommandTimeoutException;
import dev.pgplay.core.ssh.UnreachableException;
import java.util.List;
import java.util.Optional;

/**
 * A switchover the journal says began and never ended (the controller was lost): finish it or undo
 * it, whichever is safe, so that the run that follows starts from one writable node.
 * <ul>
 * <li>the new primary is writable: the promotion happened; the old primary is fenced and rejoins;</li>
 * <li>the old primary is still writable (cut before its stop): writes are allowed again there;</li>
 * <li>neither is writable (cut between the stop and the promotion): the standby is proven to have
 * replayed past the recorded shutdown checkpoint and promoted; if that cannot be proven and the
 * journal proves no promotion was asked for, the old primary's fence is lifted and it serves again.
 * When the journal says a promotion was asked for and the standby cannot be read, nothing is
 * guessed: the run refuses with what to check.</li>
 * </ul>
 */
final class CutSwitchover {
    /** What was done; {@code promoted}: the switchover stands (the old primary must rejoin). */
    record Outcome(String what, boolean promoted, long checkpoint, Optional<String> failure) {
        static Outcome failed(String why) {
            return new Outcome("", false, -1, Optional.of(why));
        }
    }

    private final PgSettings s;
    private final SwitchoverJournal journal;
    private final Pg from;
    private final Pg to;

    CutSwitchover(PgSettings s, SwitchoverJournal journal, Pg a, Pg b) {
        this.s = s;
        this.journal = journal;
        this.from = a.name().equals(journal.from()) ? a : b;
        this.to = from == a ? b : a;
    }

    Outcome resolve() throws InterruptedException {
        String j = journal.describe().orElse("");
        if (from.ctx().checkMode()) {
            return new Outcome("found " + j + " (check mode: not resolved)", false, -1, Optional.empty());
        }
        PgFacts.Cluster cf = from.cluster();
        Optional<PgFacts.Cluster> ct = clusterOf(to);
        boolean fromWrites = cf.online() && !cf.inRecovery();
        boolean toWrites = ct.isPresent() && ct.get().online() && !ct.get().inRecovery();
        if (fromWrites && toWrites) {
            return Outcome.failed("both " + from.name() + " and " + to.name() + " are read-write after a cut " + j
                    + " (split brain): stop the one that must not serve, check it for writes the other lacks, then run again");
        }
        if (toWrites) {
            return new Outcome(j + ": " + to.name() + " was promoted; " + from.name() + " rejoins", true, journal.checkpoint(), Optional.empty());
        }
        if (fromWrites) {
            // cut before the stop: writes may still be blocked there
            from.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            Switchover.abortJournal(List.of(from, to));
            return new Outcome(j + ": " + from.name() + " still serves; writes allowed again, the switchover starts over", false, -1, Optional.empty());
        }
        return neitherWrites(j, cf, ct);
    }

    /**
     * Neither node writes: the switchover was cut between the stop and the promotion. The standby
     * is promoted when it proves it replayed past the old primary's shutdown checkpoint; otherwise
     * the old primary serves again, unless a promotion was asked for and cannot be ruled out.
     */
    private Outcome neitherWrites(String j, PgFacts.Cluster cf, Optional<PgFacts.Cluster> ct) throws InterruptedException {
        long checkpoint = journal.checkpoint();
        if (checkpoint < 0 && !cf.online()) {
            var control = from.controlData();
            if ("shut down".equals(control.get("Database cluster state"))) {
                checkpoint = Psql.lsn(control.get("Latest checkpoint location"));
            }
        }
        boolean lost = ct.isEmpty();
        String cp = Psql.lsnText(checkpoint);
        int seconds = Integer.parseInt(to.ctx().var("proof-timeout-seconds", "15"));
        StandbySql sql = null;
        try {
            List<String> row = null;
            if (!lost && ct.get().online() && checkpoint >= 0) {
                try {
                    sql = StandbySql.open(to);
                    row = sql.positionsPast(cp, seconds);
                } catch (UnreachableException | CommandTimeoutException e) {
                    lost = true; // read failed before any promotion was asked for
                }
            }
            if (row != null && StandbySql.proven(row, checkpoint)) {
                StandbySql.Promotion promoted = sql.promote(from, cp);
                if (promoted.past(checkpoint)) {
                    return new Outcome(j + ": " + to.name() + " had replayed past the checkpoint and was promoted; " + from.name() + " rejoins",
                            true, checkpoint, Optional.empty());
                }
                return Outcome.failed(to.name() + (promoted.stillInRecovery() ? " did not leave recovery after pg_promote"
                        : " left recovery at " + Psql.lsnText(promoted.replayed()) + ", not past the checkpoint " + cp) + " (" + j + "); check its log");
            }
        } finally {
            if (sql != null) {
                sql.close();
            }
        }
        if (journal.state() == SwitchoverJournal.State.PROMOTING && lost) {
            return Outcome.failed(j + ": a promotion of " + to.name() + " was asked for and " + to.name() + " cannot be read now; "
                    + "nothing is started. Next: when " + to.name() + " answers again, run again; if it is lost for good, "
                    + "check it is down, then start " + from.name() + " deliberately (remove its standby.signal)");
        }
        return servesAgain(j, cf, ct, lost);
    }

    /** Not proven, and no promotion can have happened (or the standby still is one): the old primary serves again. */
    private Outcome servesAgain(String j, PgFacts.Cluster cf, Optional<PgFacts.Cluster> ct, boolean lost) throws InterruptedException {
        if (cf.online()) {
            from.stopFast(); // it was started as a fenced standby: stopping it loses nothing
        }
        from.unfence();
        from.start();
        from.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
        Switchover.abortJournal(List.of(from, to));
        return new Outcome(j + ": " + to.name() + " could not be proven to have every commit ("
                + (lost ? "unreachable" : ct.get().online() ? "not past the checkpoint" : "down") + "); "
                + from.name() + " was started again as the primary", false, -1, Optional.empty());
    }

    /** The node's cluster, or empty when the host cannot be reached. */
    private static Optional<PgFacts.Cluster> clusterOf(Pg pg) {
        try {
            return Optional.of(pg.cluster());
        } catch (UnreachableException e) {
            return Optional.empty();
        }
    }
}
