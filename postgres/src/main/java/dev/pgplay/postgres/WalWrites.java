package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Whether a cluster took writes since a WAL position, decided by its WAL (pg_waldump), not by
 * statistics: TRUNCATE, DDL, sequences and large objects leave WAL as rows do. What is not a write:
 * records outside a transaction (checkpoints, hint bits, pruning, vacuum), commit/standby/CLOG
 * bookkeeping, in-place statistics updates of pg_class, and transactions that touch only
 * pg_statistic (ANALYZE, autovacuum's or the upgrade's own).
 */
public final class WalWrites {
    private WalWrites() {
    }

    /**
     * The first WAL record after {@code since} that is a write, as pg_waldump prints it; empty when
     * there is none. Fails (IllegalStateException) when the WAL since then cannot be read (removed
     * by checkpoints): the caller must then assume writes.
     */
    public static Optional<String> first(HostContext ctx, Pg pg, String since) {
        String until = pg.sql("SELECT pg_current_wal_flush_lsn()");
        if (Psql.lsn(until) <= Psql.lsn(since)) {
            return Optional.empty();
        }
        List<String> statistics = new ArrayList<>();
        for (String db : Psql.databases(ctx, pg.settings().port(), "datallowconn")) {
            for (List<String> r : Psql.rows(ctx, pg.settings().port(), db, "SELECT d.oid || '/' || pg_relation_filenode(c.oid) FROM pg_class c, "
                    + "pg_database d WHERE d.datname = current_database() AND (c.oid IN ('pg_statistic'::regclass, "
                    + "'pg_statistic_relid_att_inh_index'::regclass) OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'pg_statistic'::regclass) "
                    + "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'pg_statistic'::regclass)))")) {
                statistics.add(r.get(0));
            }
        }
        // awk on the host: only the first write is sent back, however much WAL there is
        String awk = "BEGIN { n = split(ignore, r, \",\"); for (i = 1; i <= n; i++) skip[r[i]] = 1 }\n"
                + "{ if (match($0, /tx: +[0-9]+/) == 0) next; tx = substr($0, RSTART, RLENGTH); sub(/tx: +/, \"\", tx); if (tx == 0) next }\n"
                + "/^rmgr: (Transaction|Standby|XLOG|CLOG|MultiXact|CommitTs|RelMap) / { next }\n"
                + "/desc: INPLACE/ { next }\n"
                + "{ rel = \"\"; if (match($0, /rel [0-9]+\\/[0-9]+\\/[0-9]+/)) { rel = substr($0, RSTART + 4, RLENGTH - 4); sub(/^[0-9]+\\//, \"\", rel) }\n"
                + "  if (!(rel != \"\" && (rel in skip))) { print; exit } }\n";
        String script = "set -o pipefail\n\"$1/pg_waldump\" -p \"$2/pg_wal\" -s \"$3\" -e \"$4\" | awk -v ignore=\"$5\" \"$6\"";
        ExecResult r = ctx.connection().exec(Cmd.of("bash", "-c", script, "bash", "/usr/lib/postgresql/" + pg.settings().version() + "/bin",
                pg.dataDir(), since, until, String.join(",", statistics), awk), ExecOptions.as("postgres").timeout(Duration.ofHours(2)));
        String out = r.stdout().strip();
        if (!out.isEmpty() && out.startsWith("rmgr:")) {
            return Optional.of(out);
        }
        if (!r.ok()) {
            throw new IllegalStateException("the WAL since " + since + " cannot be read (" + (out + " " + r.stderr()).strip() + ")");
        }
        return Optional.empty();
    }
}
