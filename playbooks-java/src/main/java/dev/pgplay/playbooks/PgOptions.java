package dev.pgplay.playbooks;

import dev.pgplay.core.run.PlaybookOption;
import java.util.ArrayList;
import java.util.List;

/** The options of the PostgreSQL playbooks: the cluster's (all of them) and each playbook's own. */
final class PgOptions {
    private PgOptions() {
    }

    private static final List<PlaybookOption> CLUSTER = List.of(
            PlaybookOption.string("pg-version", "15", "major version of the cluster (vars.pg-version)"),
            PlaybookOption.string("pg-cluster", "main", "cluster name, as pg_lsclusters shows it"),
            PlaybookOption.integer("pg-port", 5432, 1, 65535, "port of the cluster"),
            PlaybookOption.string("replication-user", "replicator", "role the standbys replicate as"));

    private static final List<PlaybookOption> MAJOR = List.of(
            PlaybookOption.string("new-version", null, "the major version to upgrade to (required), e.g. 15"),
            PlaybookOption.string("jobs", "auto", "parallel jobs for pg_upgrade, pg_dump/pg_restore and verification: 1..999, or auto (the host's cores)"),
            PlaybookOption.bool("resume", false, "continue an upgrade that stopped or failed (same as --resume)"),
            PlaybookOption.choice("verify", null, "what is compared while writes are blocked: full (every row; dump's default) or catalog "
                    + "(the catalog, with pg_upgrade file numbers, data files on disk and for copy/clone a sample of rows; pg_upgrade's default)",
                    "full", "catalog"));

    /** The cluster's options, then the playbook's own. */
    static List<PlaybookOption> of(PlaybookOption... own) {
        return join(List.of(), own);
    }

    /** The options of a major upgrade: the cluster's, the upgrades' shared ones, then its own. */
    static List<PlaybookOption> major(PlaybookOption... own) {
        return join(MAJOR, own);
    }

    private static List<PlaybookOption> join(List<PlaybookOption> shared, PlaybookOption[] own) {
        List<PlaybookOption> out = new ArrayList<>(CLUSTER);
        out.addAll(shared);
        out.addAll(List.of(own));
        return List.copyOf(out);
    }
}
