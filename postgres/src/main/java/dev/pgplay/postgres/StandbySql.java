package dev.pgplay.postgres;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import java.time.Duration;
import java.util.List;

/**
 * One psql session on the standby, opened before the old primary stops, so the proof and the
 * promotion each cost a network round trip instead of an SSH channel, sudo and a psql start. The
 * promotion is a later request than the proof: a session lost during the proof proves that no
 * promotion was asked for.
 */
public final class StandbySql implements AutoCloseable {
    private final Pg standby;
    private final KeptPsql psql;
    /** The standby's journal and, once {@link #keepJournalOf} ran, the old primary's, kept open (null: written by a command each time). */
    private final KeptJournal journal;
    private KeptJournal oldJournal;

    private StandbySql(Pg standby, KeptPsql psql, KeptJournal journal) {
        this.standby = standby;
        this.psql = psql;
        this.journal = journal;
    }

    public static StandbySql open(Pg standby) {
        KeptPsql psql = KeptPsql.open(standby.ctx(), standby.settings().port(), "postgres", "");
        StandbySql sql = new StandbySql(standby, psql, keptOrNull(standby));
        try {
            if (!"t".equals(sql.rows("SELECT pg_is_in_recovery()", Duration.ofSeconds(15)).get(0).get(0))) {
                throw new IllegalStateException(standby.name() + " is not in recovery");
            }
        } catch (RuntimeException e) {
            sql.close();
            throw e;
        }
        return sql;
    }

    /** The old primary's journal kept open too, before its stop, so {@link #markPromoting} costs a round trip and an fsync. */
    public void keepJournalOf(Pg old) {
        oldJournal = keptOrNull(old);
    }

    /** A kept journal, or null when perl cannot keep it (the journal is then written by a command, as before). */
    private static KeptJournal keptOrNull(Pg pg) {
        try {
            return KeptJournal.open(pg);
        } catch (RuntimeException e) {
            pg.ctx().progress("the switchover journal on " + pg.name() + " is written command by command (" + e.getMessage() + ")");
            return null;
        }
    }

    /** Runs SQL; the rows it printed, fields split. */
    public List<List<String>> rows(String query, Duration limit) {
        return psql.rows(query, limit);
    }

    /**
     * How far replay may trail what the standby received and flushed when the proof is taken. A
     * promotion replays every streamed byte before it ends recovery (PostgreSQL's startup process
     * moves on to pg_wal when triggered); waiting for replay itself could stall: when the old
     * primary's walsender ends the stream right after its last record, the startup process counts
     * the stream as failed and may sleep wal_retrieve_retry_interval (5 s) before it reads that
     * record from pg_wal (the lab's logs show that sleep: "waiting for WAL to become available").
     */
    public static final long REPLAY_SLACK = 1 << 20;

    /** The proof on a {@link #positionsPast} row: received (on disk) past the checkpoint, replay at most {@link #REPLAY_SLACK} behind. */
    public static boolean proven(List<String> row, long checkpoint) {
        long received = Psql.lsn(row.get(0));
        long replay = Psql.lsn(row.get(1));
        return received > checkpoint && (replay > checkpoint || received - replay < REPLAY_SLACK);
    }

    /**
     * The proof's reading: waits (5 ms steps, at most {@code seconds}) until this standby received
     * and flushed past {@code checkpoint} with replay at most {@link #REPLAY_SLACK} behind, then
     * returns both positions (received, replayed).
     */
    public List<String> positionsPast(String checkpoint, int seconds) {
        String lsn = Psql.literal(checkpoint);
        return rows("DO $$ BEGIN FOR i IN 1.." + (seconds * 200) + " LOOP "
                + "EXIT WHEN pg_last_wal_receive_lsn() > " + lsn + "::pg_lsn AND (pg_last_wal_replay_lsn() > " + lsn + "::pg_lsn "
                + "OR pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn() < " + REPLAY_SLACK + "); "
                + "PERFORM pg_sleep(0.005); END LOOP; END $$; "
                + "SELECT coalesce(pg_last_wal_receive_lsn()::text, '0/0'), coalesce(pg_last_wal_replay_lsn()::text, '0/0')",
                Duration.ofSeconds(seconds + 10)).get(0);
    }

    /** What a promotion came to: whether the server is still in recovery, and where its replay ended. */
    public record Promotion(boolean stillInRecovery, long replayed) {
        /** Left recovery having replayed past {@code checkpoint}: every commit before it is there. */
        public boolean past(long checkpoint) {
            return !stillInRecovery && replayed > checkpoint;
        }
    }

    /**
     * {@code promoting} on the old primary's journal (no journal there without it means nobody was
     * promoted), then {@link #promoteMarked}.
     */
    public Promotion promote(Pg old, String checkpoint) {
        markPromoting(old);
        return promoteMarked(checkpoint);
    }

    /** {@code state=promoting} on the old primary's journal: from here the promotion counts as asked for. */
    public void markPromoting(Pg old) {
        if (oldJournal != null && oldJournal.node().equals(old.name())) {
            oldJournal.append("state=promoting");
            return;
        }
        old.ctx().connection().exec(SwitchoverJournal.append(old.settings(), "state=promoting"), ExecOptions.as("postgres")).check(old.name());
    }

    /**
     * After {@link #markPromoting}, in this session: the same on the standby's journal, the
     * promotion, and a wait in 5 ms steps until recovery ended; then where replay ended.
     */
    public Promotion promoteMarked(String checkpoint) {
        String mark = "";
        if (journal != null) {
            journal.append("checkpoint=" + checkpoint, "state=promoting");
        } else {
            String path = SwitchoverJournal.path(standby.settings());
            mark = "\\! printf '%s\\n' " + Cmd.quote("checkpoint=" + checkpoint) + " state=promoting >> " + Cmd.quote(path) + " && sync " + Cmd.quote(path) + "\n";
        }
        // asked again every 100 ms while recovery goes on: a promotion asked for just as the old primary's walsender ended the
        // stream slept out wal_retrieve_retry_interval (5 s) in 3 of 18 lab switchovers; a second signal wakes the startup process
        // (one that comes as recovery ends fails, which is ignored; a promote file it leaves is removed by the next postmaster start)
        List<List<String>> rows = rows(mark + "SELECT pg_promote(false);\nDO $$ BEGIN FOR i IN 1..12000 LOOP EXIT WHEN NOT pg_is_in_recovery(); "
                + "IF i % 20 = 0 THEN BEGIN PERFORM pg_promote(false); EXCEPTION WHEN OTHERS THEN NULL; END; END IF; "
                + "PERFORM pg_sleep(0.005); END LOOP; END $$;\nSELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn()::text, '0/0');",
                Duration.ofSeconds(90));
        List<String> last = rows.isEmpty() ? List.of("t", "0/0") : rows.get(rows.size() - 1);
        return new Promotion(!"f".equals(last.get(0)), Psql.lsn(last.get(1)));
    }

    @Override
    public void close() {
        psql.close();
        for (KeptJournal j : new KeptJournal[] {journal, oldJournal}) {
            if (j != null) {
                j.close();
            }
        }
    }
}
