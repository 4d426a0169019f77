package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A major upgrade of the primary's cluster, by pg_upgrade or by dump and restore, as named steps
 * that record themselves in {@link UpgradeStatus} on the host: pre-flight, the new cluster made
 * like the old one, configuration carried over, (pg_upgrade --check,) writes blocked, the old
 * cluster read for verification, the data moved, ports swapped, the new cluster verified while
 * still read-only, opened, statistics rebuilt, standbys rebuilt. A failure before the new
 * cluster is opened puts the old cluster back on its port, writable, with its data unchanged.
 */
final class Major {
    /** The steps a return to the old cluster undoes (what stays: the new cluster made and configured). */
    static final List<Step> UNDONE_BY_GOING_BACK = List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.OLD_STOPPED, Step.PG_UPGRADE, Step.GLOBALS, Step.COPIED, Step.COPY_STARTED, Step.CHECKED, Step.SWAPPED, Step.VERIFIED, Step.OPENED, Step.ANALYZED);

    final MajorSettings m;
    UpgradeStatus status;
    boolean finished;
    int jobs;
    final List<String> notes = new ArrayList<>();
    final MajorPreflight preflight = new MajorPreflight(this);
    final NewCluster newCluster = new NewCluster(this);
    final PgUpgradeMove pgUpgradeMove = new PgUpgradeMove(this);
    final DumpRestoreMove dumpRestore = new DumpRestoreMove(this);
    final CutOver cutOver = new CutOver(this);
    final MajorVerify verification = new MajorVerify(this);
    final MajorRecovery recovery = new MajorRecovery(this);
    final StandbyRebuild standbyRebuild = new StandbyRebuild(this);
    final StandbyRsync standbyRsync = new StandbyRsync(this);

    Major(MajorSettings settings) {
        this.m = settings;
    }

    String cluster() {
        return m.old().cluster();
    }

    int port() {
        return m.old().port();
    }

    int sidePort() {
        return (int) status.number(Key.SIDE_PORT);
    }

    /**
     * Dump and restore per database in parallel, or one pg_dumpall | psql stream: as asked, else
     * by the host's cores (on 2 the stream keeps both busy and was faster; bin/bench upgrade).
     */
    boolean parallel(HostContext ctx) {
        if (m.parallel() != null) {
            return m.parallel();
        }
        return Integer.parseInt(ctx.connection().exec(Cmd.of("nproc"), dev.pgplay.core.ssh.ExecOptions.DEFAULT).check(ctx.host().name()).out()) > 2;
    }

    Pg old(HostContext ctx) {
        return new Pg(ctx, m.old());
    }

    Pg next(HostContext ctx) {
        return new Pg(ctx, m.next());
    }

    Pg nextOn(HostContext ctx, int port) {
        return new Pg(ctx, m.next().with(m.next().version(), port));
    }

    /** The unit the long commands of a major upgrade run in (pg_upgrade, pg_dump/pg_restore, vacuumdb). */
    static final String UNIT = "major";

    /**
     * A long command as postgres, detached in a systemd unit: a lost controller does not cut it, and
     * the next run waits for it (or {@link #killLeftovers} ends it) before deciding anything.
     */
    static ExecResult postgres(HostContext ctx, Cmd cmd) {
        return Detached.run(ctx, UNIT, cmd, "postgres", Duration.ofHours(12));
    }

    Optional<PgFacts.Cluster> find(HostContext ctx, String version) {
        ctx.forget(PgFacts.CLUSTERS);
        return PgCluster.find(ctx, version, cluster());
    }

    static TaskResult changed(String message, List<String> commands, List<String> report) {
        return new TaskResult.Changed(message, commands, Optional.empty(), Map.of("report", report));
    }

    // ---------------------------------------------------------------- the plays

    List<Play> plays() {
        String title = "major upgrade " + m.title() + " (" + m.methodText() + ")";
        String all = String.join(",", java.util.stream.Stream.concat(java.util.stream.Stream.of(m.old().primary()), m.old().standbys().stream()).toList());
        Play packages = Play.of("PostgreSQL " + m.next().version() + " on every node", all)
                .task(Task.of("PostgreSQL " + m.next().version() + " installed", preflight::packages));
        Play primary = Play.of(title + " on the primary", m.old().primary()).failFast()
                .task(Task.of("where things stand (status on the host)", preflight::where))
                .task(Task.of("pre-flight checks (nothing is changed if one fails)", preflight::preflight).when(c -> !finished))
                .task(Task.of("new cluster " + m.next().version() + "/" + cluster() + " with the old cluster's locale, encoding and checksums",
                        newCluster::newCluster).when(c -> !finished))
                .task(Task.of("configuration carried over (postgresql.conf, conf.d, pg_hba.conf, pg_ident.conf, postgresql.auto.conf)",
                        newCluster::carryConfig).when(c -> !finished));
        if (m.dump()) {
            primary = primary.task(Task.of("new cluster running on its side port", dumpRestore::startSide).when(c -> !finished));
        } else {
            primary = primary.task(Task.of("pg_upgrade --check (old cluster running)", pgUpgradeMove::check).when(c -> !finished));
        }
        if (m.rsync() && !m.old().standbys().isEmpty()) {
            primary = primary.task(Task.of("standbys: " + m.next().version() + " made ahead for rsync (not started)", guarded(standbyRsync::prepare))
                    .when(c -> !finished));
        }
        primary = primary.task(Task.of("block writes on " + m.old().version() + " and end client sessions", cutOver::blockWrites).when(c -> !finished))
                .task(Task.of("read the old cluster for verification (tables, rows, checksums, roles, sequences, extensions)", guarded(cutOver::snapshot))
                        .when(c -> !finished));
        if (m.dump()) {
            primary = primary.task(Task.of(m.parallel() == null ? "copy roles and databases (" + MajorSettings.AUTO + ")"
                    : m.parallel() ? "copy roles and databases (pg_dumpall --globals-only; pg_dump -Fd -j | pg_restore -j per database)"
                    : "copy everything in one stream (pg_dumpall | psql)", guarded(dumpRestore::copy)).when(c -> !finished)
                    .irreversible(Duration.ofMinutes(30)));
        } else {
            primary = primary.task(Task.of("stop " + m.old().version() + " (fast shutdown)", guarded(pgUpgradeMove::stopOld)).when(c -> !finished))
                    .task(Task.of("pg_upgrade --" + m.method(), guarded(pgUpgradeMove::pgUpgrade)).when(c -> !finished)
                            .irreversible(Duration.ofMinutes(m.method().equals("copy") ? 30 : 2)));
            if (m.rsync() && !m.old().standbys().isEmpty()) {
                primary = primary.task(Task.of("standbys: caught up and stopped, then " + StandbyRsync.RSYNC + " (before " + m.next().version() + " starts)",
                        guarded(standbyRsync::sync)).when(c -> !finished).irreversible(Duration.ofMinutes(30)));
            }
        }
        primary = primary.task(Task.of(m.next().version() + " takes port " + port() + " and starts at boot; " + m.old().version()
                        + " is kept on a side port, not started automatically", guarded(cutOver::swap)).when(c -> !finished))
                .task(Task.of("verify: old against new (still read-only)", guarded(verification::verify)).when(c -> !finished))
                .task(Task.of("open " + m.next().version() + " for writes", verification::open).when(c -> !finished))
                .task(Task.of("statistics rebuilt (vacuumdb --all --analyze-in-stages)", verification::analyze).when(c -> !finished))
                .task(Task.of("replication slots for the standbys", ClusterSetup.slotsFor(m.next().port(), m.old().standbys()))
                        .when(c -> !finished && !m.old().standbys().isEmpty()));
        Play standbys = Play.of("standbys: rebuild for " + m.next().version(), String.join(",", m.old().standbys())).serial("1")
                .task(Task.of(m.rsync() ? "rebuilt from the upgraded primary (made by rsync, or pg_basebackup)"
                        : "rebuilt from the upgraded primary (pg_basebackup)", standbyRebuild::rebuildStandby).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("streaming from the primary on " + m.next().version(), ctx -> WaitFor.sql(port(),
                        "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver",
                        "streaming " + ctx.inventory().host(m.old().primary()).address()).timeout(Duration.ofSeconds(90)).run(ctx))
                        .when(ctx -> !ctx.checkMode() && UpgradeStatus.read(ctx.on(m.old().primary()), cluster()).state() == State.UPGRADED));
        Play report = Play.of("report", m.old().primary())
                .task(Task.of("audit after opening: every row of " + m.next().version() + " read", verification::audit))
                .task(Task.of("report", this::report));
        return m.old().standbys().isEmpty() ? List.of(packages, primary, report) : List.of(packages, primary, standbys, report);
    }

    /** Runs a step; if it fails or throws, the old cluster is put back (when that is still possible). */
    private dev.pgplay.core.run.Action guarded(dev.pgplay.core.run.Action step) {
        return ctx -> {
            TaskResult r = step.attempt(ctx);
            if (r instanceof TaskResult.Failed f && !ctx.checkMode() && !ctx.cancelled()) {
                String back = recovery.recover(ctx, f.message());
                List<String> report = new ArrayList<>();
                if (f.data().get("report") instanceof List<?> l) {
                    l.forEach(x -> report.add(String.valueOf(x)));
                }
                report.add(back);
                return TaskResult.failed(f.message() + "; " + back, Map.of("report", report));
            }
            return r;
        };
    }

    static String mb(long bytes) {
        return (bytes >> 20) + " MB";
    }

    static String cat(HostContext ctx, String path) {
        return Pg.root(ctx, Cmd.of("cat", path)).stdout();
    }

    static void write(HostContext ctx, String path, String text, String mode) {
        ctx.connection().upload(text.getBytes(StandardCharsets.UTF_8), path, mode, "postgres:postgres");
    }

    Snapshot before;

    // ---------------------------------------------------------------- report

    TaskResult report(HostContext ctx) {
        UpgradeStatus st = UpgradeStatus.read(ctx, cluster());
        List<String> lines = new ArrayList<>();
        lines.add("cluster: " + m.title() + " by " + m.methodText() + ": " + st.state());
        long blocked = st.number(Key.BLOCKED_AT);
        long stopped = st.number(Key.STOPPED_AT);
        long up = st.number(Key.UP_AT);
        long opened = st.number(Key.OPENED_AT);
        if (stopped > 0 && up > 0) {
            lines.add(String.format("downtime (no server on port %d): %d ms", port(), up - stopped));
        }
        if (blocked > 0 && opened > 0) {
            lines.add(String.format("writes refused (blocked until verified and opened): %d ms", opened - blocked));
        }
        if (st.get(Key.VERIFIED_ITEMS) != null) {
            lines.add("verification while writes were blocked: " + st.get(Key.VERIFIED_ITEMS) + " items identical (table above; "
                    + st.get(Key.VERIFIED_IN, "?") + ")" + ("full".equals(st.get(Key.VERIFY)) ? "" : "; -e verify=full compares every row instead"));
        }
        if (st.get(Key.STANDBY_METHODS) != null) {
            lines.add("standbys: " + st.get(Key.STANDBY_METHODS));
        }
        if (st.get(Key.AUDIT) != null) {
            lines.add("audit after opening: " + st.get(Key.AUDIT));
        }
        String removed = st.get(Key.REMOVED_PARAMETERS, "");
        if (!removed.isEmpty()) {
            lines.add("parameters commented out (not in " + m.next().version() + "): " + removed);
        }
        lines.addAll(notes);
        if (st.state() == State.UPGRADED) {
            lines.add("old cluster: " + m.old().version() + "/" + cluster() + " kept on port " + st.get(Key.SIDE_PORT)
                    + " (start.conf manual) on every node");
            lines.add(m.method().equals("link") ? "way back: none (link mode, the new cluster has run); restore from a backup if needed"
                    : "way back: playbook major-rollback (refused once " + m.next().version() + " has taken writes)");
            lines.add("next: set pg-version = " + m.next().version() + " in the inventory; check the applications; when satisfied, "
                    + "delete the old cluster with: playbook major-cleanup");
        }
        Map<String, Object> data = new java.util.HashMap<>(Map.of("report", lines));
        if (st.state() == State.UPGRADED) {
            Map<String, String> versions = new java.util.LinkedHashMap<>();
            versions.put(m.old().primary(), m.old().version() + "/" + cluster() + " -> " + m.next().version() + "/" + cluster() + " (primary)");
            m.old().standbys().forEach(h -> versions.put(h, m.old().version() + " -> " + m.next().version() + " (standby)"));
            data.put(dev.pgplay.core.output.HtmlReport.VERSIONS, versions);
        }
        if (blocked > 0 && opened >= blocked) {
            data.put(dev.pgplay.core.run.WritesRefused.KEY, new dev.pgplay.core.run.WritesRefused(blocked, opened));
        }
        return TaskResult.ok(st.state().text(), data);
    }
}
