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

    private StandbySql(Pg standby, KeptPsql psql) {
        this.standby = standby;
        this.psql = psql;
    }

    public static StandbySql open(Pg standby) {
        KeptPsql psql = KeptPsql.open(standby.ctx(), standby.settings().port(), "postgres", "");
        StandbySql sql = new StandbySql(standby, psql);
        try {
            if (!"t".equals(sql.rows("SELECT pg_is_in_recovery()", Duration.ofSeconds(15)).get(0).get(0))) {
                throw new IllegalStateException(standby.name() + " is not in recovery");
            }
        } catch (RuntimeException e) {
            psql.close();
            throw e;
        }
        return sql;
    }

    /** Runs SQL; the rows it printed, fields split. */
    public List<List<String>> rows(String query, Duration limit) {
        return psql.rows(query, limit);
    }

    /**
     * The proof's reading: waits (5 ms steps, at most {@code seconds}) until this standby received
     * and replayed past {@code checkpoint}, then returns both positions (received, replayed).
     */
    public List<String> positionsPast(String checkpoint, int seconds) {
        String lsn = Psql.literal(checkpoint);
        return rows("DO $$ BEGIN FOR i IN 1.." + (seconds * 200) + " LOOP "
                + "EXIT WHEN pg_last_wal_replay_lsn() > " + lsn + "::pg_lsn AND pg_last_wal_receive_lsn() > " + lsn + "::pg_lsn; "
                + "PERFORM pg_sleep(0.005); END LOOP; END $$; "
                + "SELECT coalesce(pg_last_wal_receive_lsn()::text, '0/0'), coalesce(pg_last_wal_replay_lsn()::text, '0/0')",
                Duration.ofSeconds(seconds + 10)).get(0);
    }

    /**
     * {@code promoting} on the old primary's journal (no journal there without it means nobody was
     * promoted), then {@link #promoteMarked}. Returns pg_is_in_recovery() at the end ("t" or "f").
     */
    public String promote(Pg old, String checkpoint) {
        markPromoting(old);
        return promoteMarked(checkpoint);
    }

    /** {@code state=promoting} on the old primary's journal: from here the promotion counts as asked for. */
    public void markPromoting(Pg old) {
        old.ctx().connection().exec(SwitchoverJournal.append(old.settings(), "state=promoting"), ExecOptions.as("postgres")).check(old.name());
    }

    /**
     * After {@link #markPromoting}, in this session: the same on the standby's journal, the
     * promotion, and a wait in 5 ms steps until recovery ended. Returns pg_is_in_recovery() at the
     * end ("t" or "f").
     */
    public String promoteMarked(String checkpoint) {
        String journal = SwitchoverJournal.path(standby.settings());
        String shell = "printf '%s\\n' " + Cmd.quote("checkpoint=" + checkpoint) + " state=promoting >> " + Cmd.quote(journal)
                + " && sync " + Cmd.quote(journal);
        List<List<String>> rows = rows("\\! " + shell + "\nSELECT pg_promote(false);\nDO $$ BEGIN FOR i IN 1..12000 LOOP EXIT WHEN NOT pg_is_in_recovery(); "
                + "PERFORM pg_sleep(0.005); END LOOP; END $$;\nSELECT pg_is_in_recovery();", Duration.ofSeconds(90));
        return rows.isEmpty() ? "" : rows.get(rows.size() - 1).get(0);
    }

    @Override
    public void close() {
        psql.close();
    }
}
