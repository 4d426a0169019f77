package dev.pgplay.playbooks;

import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.postgres.ClusterDoor;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A major upgrade onto another server (seed 002): the target gets a new cluster of the new major,
 * made like the source's (locale, encoding, checksums, configuration) and read-only; writes are
 * blocked on the source; the target's pg_dump -Fd -j reads the source over the network and
 * pg_restore -j fills the new cluster, one database at a time, each recorded; every row is
 * compared; then the target is opened and the clients are moved (the VIP, the /etc/hosts alias
 * of group clients, the DNS hook). The source is never written again: it stays read-only as the
 * way back ({@link MajorMoveRollback}). Status in {@code /var/lib/pgplay/major-move-CLUSTER.status}
 * on the source; a re-run continues from it, and a failure before the switch opens the source again.
 */
final class Move {
    final MoveSettings m;
    final MoveAccess access = new MoveAccess(this);
    final MoveCopy copy = new MoveCopy(this);
    UpgradeStatus status;
    boolean finished;
    int jobs;
    Snapshot before;

    Move(MoveSettings settings) {
        this.m = settings;
    }

    int port() {
        return m.old().port();
    }

    String cluster() {
        return m.old().cluster();
    }

    HostContext target(HostContext ctx) {
        return ctx.on(m.target());
    }

    String sourceAddress(HostContext ctx) {
        return ctx.inventory().host(m.old().primary()).address();
    }

    /** The source's cluster; {@code ctx} is the source's. */
    Pg source(HostContext ctx) {
        return new Pg(ctx, m.old());
    }

    /** The target's new cluster; {@code ctx} is the source's. */
    Pg next(HostContext ctx) {
        return new Pg(target(ctx), m.next());
    }

    List<Play> plays() {
        String title = "major-move " + m.title();
        Play packages = Play.of("PostgreSQL " + m.next().version() + " on " + m.target(), m.target())
                .task(Task.of("postgresql-" + m.next().version() + " installed", this::packages));
        Play move = Play.of(title, m.old().primary()).failFast()
                .task(Task.of("where things stand (status on the source)", this::where))
                .task(Task.of("pre-flight checks (nothing is changed if one fails)", this::preflight).when(c -> !finished))
                .task(Task.of("new cluster " + m.next().version() + "/" + cluster() + " on " + m.target() + " with the source's locale, encoding and checksums",
                        this::newCluster).when(c -> !finished))
                .task(Task.of("configuration carried over from the source", c -> NewCluster.carry(c, target(c), m.old(), m.next(), status, port()))
                        .when(c -> !finished))
                .task(Task.of("the target's cluster running, read-only until the switch", this::startTarget).when(c -> !finished))
                .task(Task.of("the target's cluster kept to this move until the switch: other clients refused (pg_hba), their sessions ended",
                        this::door).when(c -> !finished))
                .task(Task.of("access for the copy: a role of its own on the source, a pg_hba line, .pgpass on the target, proven by a connection",
                        access::open).when(c -> !finished))
                .task(Task.of("block writes on the source and end client sessions", guarded(this::blockWrites)).when(c -> !finished))
                .task(Task.of("read the source for verification", guarded(this::snapshot)).when(c -> !finished))
                .task(Task.of("copy roles and databases: pg_dump -Fd -j on " + m.target() + " against the source, pg_restore -j", guarded(copy::copy))
                        .when(c -> !finished).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("verify: source against target (both still read-only)", guarded(this::verify)).when(c -> !finished))
                .task(Task.of("switch: the target opened, clients moved (" + String.join(", ", m.switchMethods()) + "), sessions on the source ended",
                        this::switchOver).when(c -> !finished))
                .task(Task.of("access for the copy removed", access::close).when(c -> !finished))
                .task(Task.of("statistics rebuilt on the target (vacuumdb --all --analyze-in-stages)", this::analyze).when(c -> !finished));
        Play report = Play.of("report", m.old().primary()).task(Task.of("report", this::report));
        return List.of(packages, move, report);
    }

    // ---------------------------------------------------------------- before writes are blocked

    TaskResult packages(HostContext ctx) throws Exception {
        if (ctx.connection().exec(Cmd.of("test", "-x", m.newBin("pg_restore")), ExecOptions.DEFAULT).ok()) {
            return TaskResult.ok(m.newBin("pg_restore") + " is there");
        }
        List<String> cmds = List.of("apt-get install -y postgresql-" + m.next().version());
        return Imperative.of("install postgresql-" + m.next().version(), cmds).run(ctx, () -> {
            TaskResult installed = Apt.present("postgresql-" + m.next().version(), "postgresql-client-" + m.next().version()).run(ctx);
            return installed.isFailure() ? installed : TaskResult.changed("installed postgresql-" + m.next().version(), cmds);
        });
    }

    TaskResult where(HostContext ctx) {
        // a copy of an earlier run (its controller lost) may still run on the target: wait for it first
        if (!ctx.checkMode()) {
            Detached.adopt(target(ctx), Major.UNIT, "copy", Duration.ofHours(12));
        }
        status = UpgradeStatus.read(ctx, m.statusName());
        State state = status.state();
        boolean same = m.target().equals(status.get(Key.TARGET)) && m.next().version().equals(status.get(Key.NEW_VERSION))
                && m.old().version().equals(status.get(Key.OLD_VERSION));
        if (state == State.UPGRADED && same) {
            finished = true;
            return TaskResult.ok("already moved to " + m.target() + " (" + status.summary() + ")");
        }
        if (state == State.UPGRADING && !same) {
            return TaskResult.failed("a move to " + status.get(Key.TARGET) + " (" + status.summary() + ") is under way: finish it with the inventory "
                    + "it was started with, or go back with: playbook major-move-rollback");
        }
        if ((state == State.UPGRADING || state == State.PREPARING || state == State.FAILED_UPGRADE) && same) {
            return TaskResult.ok("continuing: " + status.summary());
        }
        if (state == State.UPGRADED) {
            return TaskResult.failed("the source was moved to " + status.get(Key.TARGET) + " (" + status.summary() + "); it is read-only. "
                    + "Go back first with: playbook major-move-rollback (with that inventory)");
        }
        // the target's cluster of a move given up earlier is ours to replace, and holds stale data
        boolean ours = same && status.flag(Key.NEW_CREATED);
        Optional<PgFacts.Cluster> old = PgCluster.find(ctx, m.old().version(), cluster());
        if (old.isEmpty()) {
            return TaskResult.failed("no cluster " + m.old().version() + "/" + cluster() + " on " + ctx.host().name() + " (pg_lsclusters); check pg-version and pg-cluster");
        }
        status = UpgradeStatus.fresh(m.statusName()).put(Key.OLD_VERSION, m.old().version()).put(Key.NEW_VERSION, m.next().version())
                .put(Key.TARGET, m.target()).put(Key.METHOD, "move").put(Key.PORT, port()).put(Key.OLD_DATA, old.get().dataDir())
                .put(Key.NEW_CREATED, ours ? true : null).put(Key.NEW_FRESH, ours ? false : null);
        return TaskResult.ok(state == State.NONE ? "no move recorded: starting" : "last run " + state + ": starting again");
    }

    TaskResult preflight(HostContext ctx) {
        if (status.done(Step.WRITES_BLOCKED)) {
            return TaskResult.ok("passed in the run being continued");
        }
        Pg o = source(ctx);
        if (!o.online()) {
            return TaskResult.failed(m.old().version() + "/" + cluster() + " on " + ctx.host().name() + " is not running; start it and run again");
        }
        if (o.inRecovery()) {
            return TaskResult.failed(ctx.host().name() + " is in recovery (a standby); roles.primary must name the primary");
        }
        List<String> report = new ArrayList<>();
        List<String> blockers = new ArrayList<>();
        List<String> locale = o.rows("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'template1'").get(0);
        status.put(Key.ENCODING, locale.get(0)).put(Key.LC_COLLATE, locale.get(1)).put(Key.LC_CTYPE, locale.get(2))
                .put(Key.CHECKSUMS, o.sql("SHOW data_checksums"));
        report.add("source: " + o.serverVersion() + ", " + String.join(" ", locale) + ", checksums " + status.get(Key.CHECKSUMS));
        HostContext t = target(ctx);
        if (!t.connection().exec(Cmd.of("test", "-x", m.newBin("pg_restore")), ExecOptions.DEFAULT).ok()) {
            if (!ctx.checkMode()) {
                blockers.add(m.target() + " has no " + m.newBin("pg_restore") + " (postgresql-" + m.next().version() + ")");
            }
        } else {
            t.forget(PgFacts.CLUSTERS);
            for (PgFacts.Cluster c : t.fact(PgFacts.CLUSTERS)) {
                boolean ours = c.version().equals(m.next().version()) && c.name().equals(cluster());
                if (!ours && c.port() == port()) {
                    blockers.add("port " + port() + " on " + m.target() + " is taken by " + c.version() + "/" + c.name()
                            + " (clients follow the name to the same port): move it to another port or drop it");
                }
            }
            long size = Long.parseLong(o.sql("SELECT sum(pg_database_size(oid))::bigint FROM pg_database"));
            long largest = Long.parseLong(o.sql("SELECT max(pg_database_size(oid))::bigint FROM pg_database"));
            String df = t.connection().exec(Cmd.of("df", "-B1", "--output=avail", "/var/lib/postgresql"), ExecOptions.DEFAULT).stdout();
            long free = df.lines().skip(1).map(String::trim).filter(l -> l.matches("\\d+")).mapToLong(Long::parseLong).findFirst().orElse(-1);
            report.add("data: " + Major.mb(size) + "; free on " + m.target() + ": " + (free < 0 ? "unknown" : Major.mb(free)));
            java.util.Set<String> extensions = new java.util.TreeSet<>();
            for (String db : Psql.databases(ctx, port(), "datallowconn AND datname <> 'template0'")) {
                Psql.rows(ctx, port(), db, "SELECT extname FROM pg_extension").forEach(r -> extensions.add(r.get(0)));
            }
            List<String> missing = extensions.stream().filter(e -> !t.connection().exec(Cmd.of("test", "-f",
                    "/usr/share/postgresql/" + m.next().version() + "/extension/" + e + ".control"), ExecOptions.DEFAULT).ok()).toList();
            report.add("extensions in use: " + String.join(", ", extensions));
            if (!missing.isEmpty()) {
                blockers.add("extension(s) " + String.join(", ", missing) + " not installed for PostgreSQL " + m.next().version() + " on " + m.target()
                        + ": install their postgresql-" + m.next().version() + "-* packages there first");
            }
            if (free >= 0 && free < size + largest) {
                blockers.add(m.target() + " has " + Major.mb(free) + " free in /var/lib/postgresql; the restored data and the largest database's dump "
                        + "need about " + Major.mb(size + largest));
            }
        }
        if (!blockers.isEmpty()) {
            return TaskResult.failed(String.join("; ", blockers), Map.of("report", report));
        }
        if (!ctx.checkMode()) {
            status.state(State.PREPARING).put(Key.MESSAGE, null).save(ctx);
        }
        return TaskResult.ok(String.join("; ", report), Map.of("report", report));
    }

    TaskResult newCluster(HostContext ctx) throws Exception {
        HostContext t = target(ctx);
        t.forget(PgFacts.CLUSTERS);
        Optional<PgFacts.Cluster> existing = PgCluster.find(t, m.next().version(), cluster());
        if (existing.isPresent() && status.flag(Key.NEW_CREATED) && status.flag(Key.NEW_FRESH)) {
            return TaskResult.ok("made by this move, on port " + existing.get().port());
        }
        String name = m.next().version() + "/" + cluster() + " on " + m.target();
        List<String> done = new ArrayList<>();
        if (existing.isPresent()) {
            if (!status.flag(Key.NEW_CREATED)) {
                String why = NewCluster.emptyOrWhy(t, existing.get(), new Pg(t, m.next().with(m.next().version(), existing.get().port())));
                if (why != null) {
                    return TaskResult.failed(name + " already exists and " + why + "; refusing to replace it. Move its data elsewhere or drop it "
                            + "(pg_dropcluster --stop " + m.next().version() + " " + cluster() + ") and run again");
                }
            }
            done.add("pg_dropcluster --stop " + m.next().version() + " " + cluster()
                    + (status.flag(Key.NEW_CREATED) ? " (made by a move given up earlier)" : " (empty, made by the package)"));
            if (ctx.checkMode()) {
                return TaskResult.changed("would drop and make " + name + " again", done);
            }
            Pg.root(t, Cmd.of("pg_dropcluster", "--stop", m.next().version(), cluster()));
        }
        List<String> argv = new ArrayList<>(List.of("pg_createcluster", m.next().version(), cluster(), "--port", String.valueOf(port()),
                "--start-conf", "auto", "--encoding", String.valueOf(status.get(Key.ENCODING)), "--lc-collate", String.valueOf(status.get(Key.LC_COLLATE)),
                "--lc-ctype", String.valueOf(status.get(Key.LC_CTYPE))));
        if ("on".equals(status.get(Key.CHECKSUMS))) {
            argv.addAll(List.of("--", "--data-checksums"));
        }
        done.add(String.join(" ", argv));
        return Imperative.of("create " + name, done).run(ctx, () -> {
            Pg.root(t, Cmd.of(argv));
            t.forget(PgFacts.CLUSTERS);
            PgFacts.Cluster made = PgCluster.find(t, m.next().version(), cluster()).orElseThrow(() -> new IllegalStateException("pg_createcluster made no cluster"));
            status.put(Key.NEW_CREATED, true).put(Key.NEW_FRESH, true).put(Key.NEW_DATA, made.dataDir()).put(Key.DATABASES_DONE, null)
                    .undo(List.of(Step.CONFIG, Step.GLOBALS, Step.COPIED));
            status.save(ctx);
            return TaskResult.changed("created " + name + " on port " + port() + (existing.isPresent() ? " after " + done.get(0) : ""), done);
        });
    }

    /** Read-only (default_transaction_read_only in its postgresql.auto.conf) until the switch opens it; started. */
    TaskResult startTarget(HostContext ctx) throws Exception {
        if (status.done(Step.OPENED)) {
            return TaskResult.ok("opened earlier in this move");
        }
        HostContext t = target(ctx);
        Pg n = next(ctx);
        String auto = status.get(Key.NEW_DATA) + "/postgresql.auto.conf";
        boolean marked = t.connection().exec(Cmd.of("grep", "-qx", "default_transaction_read_only = 'on'", auto), ExecOptions.as("root")).ok();
        boolean online = PgCluster.find(t, m.next().version(), cluster()).map(PgFacts.Cluster::online).orElse(false);
        if (marked && online && "on".equals(n.sql("SHOW default_transaction_read_only"))) {
            return TaskResult.ok("running on port " + port() + ", read-only");
        }
        List<String> cmds = List.of("default_transaction_read_only = on in postgresql.auto.conf", online ? "reload" : "start");
        return Imperative.of("read-only and running", cmds).run(ctx, () -> {
            if (!marked) {
                Pg.markReadOnly(t, status.get(Key.NEW_DATA));
            }
            if (online) {
                n.sql("SELECT pg_reload_conf()");
            } else {
                n.start();
            }
            String ro = n.sql("SHOW default_transaction_read_only");
            if (!"on".equals(ro)) {
                return TaskResult.failed(m.next().version() + "/" + cluster() + " on " + m.target() + " is not read-only (default_transaction_read_only = "
                        + ro + "); a setting elsewhere wins over postgresql.auto.conf? Nothing was blocked yet");
            }
            t.forget(PgFacts.CLUSTERS);
            return TaskResult.changed("running on port " + port() + ", read-only", cmds);
        });
    }

    /**
     * Until the switch the target's cluster is the move's: a client already there (a monitoring
     * agent set up on the new server) would hold the databases the copy drops and makes anew, and
     * could write where nothing is compared. Closed before writes are blocked on the source, so a
     * client there costs no window; the sessions ended are kept for the report.
     */
    TaskResult door(HostContext ctx) throws Exception {
        if (status.done(Step.OPENED)) {
            return TaskResult.ok("opened earlier in this move: clients are let in");
        }
        HostContext t = target(ctx);
        Pg n = next(ctx);
        if (ctx.checkMode() && !PgCluster.find(t, m.next().version(), cluster()).map(PgFacts.Cluster::online).orElse(false)) {
            return TaskResult.changed("would refuse every client but postgres on the local socket (pg_hba block " + ClusterDoor.BLOCK
                    + ") and end other sessions", List.of("pg_hba.conf: block " + ClusterDoor.BLOCK, "reload", "pg_terminate_backend(other sessions)"));
        }
        TaskResult r = ClusterDoor.close(t, port(), n.sql("SHOW hba_file"));
        if (r instanceof TaskResult.Changed c && !ctx.checkMode()) {
            if (status.get(Key.DOOR_CLOSED_AT) == null) {
                status.put(Key.DOOR_CLOSED_AT, System.currentTimeMillis());
            }
            Object ended = c.data().get(ClusterDoor.ENDED);
            if (ended instanceof List<?> list) {
                list.forEach(x -> status.add(Key.SESSIONS_ENDED, String.valueOf(x)));
            }
            status.save(ctx);
        }
        return r;
    }

    // ---------------------------------------------------------------- writes blocked on the source

    /**
     * Runs a step of the window; if it fails, the source is opened again (it never stopped serving)
     * and the target's cluster is marked stale, so the next run makes it anew.
     */
    private dev.pgplay.core.run.Action guarded(dev.pgplay.core.run.Action step) {
        return ctx -> {
            TaskResult r = step.attempt(ctx);
            if (r instanceof TaskResult.Failed f && !ctx.checkMode() && !ctx.cancelled() && status.done(Step.WRITES_BLOCKED)) {
                return TaskResult.failed(f.message() + "; " + giveUp(ctx, f.message()), f.data());
            }
            return r;
        };
    }

    /** Before the switch: the source opened again, the copy's access removed, the target's cluster stale. */
    String giveUp(HostContext ctx, String why) {
        try {
            Detached.stop(target(ctx), Major.UNIT);
            source(ctx).sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            status.state(State.FAILED_UPGRADE).put(Key.MESSAGE, why).put(Key.NEW_FRESH, false).put(Key.DATABASES_DONE, null)
                    .undo(List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.GLOBALS, Step.COPIED, Step.VERIFIED));
            status.save(ctx);
            access.close(ctx);
            return "the source takes writes again; " + m.target() + "'s cluster is made anew by the next run";
        } catch (RuntimeException e) {
            return "the source could not be opened again (" + e.getMessage() + "): writes stay blocked on it; run again, "
                    + "or open it: ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()";
        }
    }

    TaskResult blockWrites(HostContext ctx) throws Exception {
        Pg o = source(ctx);
        if (status.done(Step.WRITES_BLOCKED)) {
            if (!CutOver.reopened(o)) {
                return TaskResult.ok("blocked earlier in this move");
            }
            // someone opened the source again: what was copied may be stale
            status.put(Key.NEW_FRESH, false).put(Key.DATABASES_DONE, null).undo(List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.GLOBALS, Step.COPIED));
            status.save(ctx);
            return TaskResult.failed("the source was opened for writes again after this move blocked them: what was copied may be stale. "
                    + "Run again: the target's cluster is made anew");
        }
        List<String> cmds = List.of("ALTER SYSTEM SET default_transaction_read_only = on", "pg_terminate_backend(client backends)");
        return Imperative.of("block writes on " + ctx.host().name(), cmds).run(ctx, () -> {
            status.state(State.UPGRADING).put(Key.BLOCKED_AT, System.currentTimeMillis()).put(Key.MESSAGE, null);
            status.done(Step.WRITES_BLOCKED, ctx);
            return TaskResult.changed("writes blocked, " + CutOver.block(o) + " client session(s) ended", cmds);
        });
    }

    String snapshotFile() {
        return UpgradeStatus.DIR + "/major-" + m.statusName() + ".before";
    }

    Snapshot.Depth depth() {
        return new Snapshot.Depth(false, false, "full".equals(status.get(Key.VERIFY, m.fullVerify() ? "full" : "catalog")));
    }

    TaskResult snapshot(HostContext ctx) throws Exception {
        if (status.done(Step.SNAPSHOT)) {
            before = Snapshot.parse(Major.cat(ctx, snapshotFile()));
            return TaskResult.ok("read earlier in this move: " + before.items().size() + " items");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: the source is read when writes are blocked");
        }
        resolveJobs(ctx);
        long t0 = System.nanoTime();
        status.put(Key.VERIFY, m.fullVerify() ? "full" : "catalog");
        before = Snapshot.read(ctx, port(), jobs, Map.of(), depth()).withoutItems("role " + MoveAccess.ROLE);
        ctx.connection().upload(before.text().getBytes(StandardCharsets.UTF_8), snapshotFile(), "0600", "root:root");
        status.done(Step.SNAPSHOT, ctx);
        return TaskResult.ok(before.items().size() + " items (" + depth().text() + ") in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    /** Parallel jobs: as asked, or the target's cores. */
    void resolveJobs(HostContext ctx) {
        if (jobs == 0) {
            jobs = m.jobs() > 0 ? m.jobs() : Math.max(1, Integer.parseInt(target(ctx).connection().exec(Cmd.of("nproc"), ExecOptions.DEFAULT)
                    .check(m.target()).out()));
        }
    }

    TaskResult verify(HostContext ctx) throws Exception {
        if (status.done(Step.VERIFIED)) {
            return TaskResult.ok("verified earlier in this move");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: nothing to compare yet (" + depth().text() + ")");
        }
        if (before == null) {
            before = Snapshot.parse(Major.cat(ctx, snapshotFile()));
        }
        resolveJobs(ctx);
        long t0 = System.nanoTime();
        Snapshot after = Snapshot.read(target(ctx), port(), jobs, Map.of(), depth());
        List<Snapshot.Row> rows = Snapshot.compare(before, after);
        List<String> table = Snapshot.table(rows);
        long bad = rows.stream().filter(r -> !r.ok()).count();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (bad > 0) {
            return TaskResult.failed(bad + " difference(s) between the source and " + m.target(), Map.of("report", table));
        }
        status.put(Key.VERIFIED_ITEMS, rows.size()).put(Key.VERIFIED_IN, depth().text() + ", " + ms + " ms").done(Step.VERIFIED, ctx);
        return TaskResult.ok(rows.size() + " items identical in " + ms + " ms", Map.of("report", table));
    }

    // ---------------------------------------------------------------- the switch

    /**
     * The target opened (the WAL position kept first: whatever is written after it is the clients'),
     * then the clients moved to it, then the source's remaining sessions ended, so pools reconnect
     * by name. The source stays read-only: one writable server at every moment.
     */
    TaskResult switchOver(HostContext ctx) throws Exception {
        if (status.done(Step.SWITCHED)) {
            return TaskResult.ok("switched earlier in this move");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would open " + m.target() + " and move the clients (" + String.join(", ", m.switchMethods()) + ")",
                    List.of("ALTER SYSTEM RESET default_transaction_read_only on " + m.target()));
        }
        List<String> done = new ArrayList<>();
        Pg n = next(ctx);
        if (!status.done(Step.OPENED)) {
            TaskResult in = ClusterDoor.open(target(ctx), port(), n.sql("SHOW hba_file"));
            if (in.isFailure()) {
                return in;
            }
            if (in instanceof TaskResult.Changed) {
                done.add(in.message());
            }
            boolean openedBefore = "off".equals(n.sql("SHOW default_transaction_read_only"));
            if (!openedBefore || status.get(Key.WAL_AT_OPEN) == null) {
                status.put(Key.WAL_AT_OPEN, n.sql("SELECT pg_current_wal_insert_lsn()")).save(ctx);
            }
            n.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            status.put(Key.OPENED_AT, System.currentTimeMillis()).done(Step.OPENED, ctx);
            done.add(m.target() + " opened for writes");
        }
        done.addAll(clients(ctx, m.old().primary(), m.target()));
        done.add(CutOver.block(source(ctx)) + " session(s) on the source ended");
        status.put(Key.SWITCHED_AT, System.currentTimeMillis()).state(State.UPGRADED).put(Key.MESSAGE, null).done(Step.SWITCHED, ctx);
        return TaskResult.changed(String.join("; ", done), done);
    }

    /** The clients led from server {@code from} to server {@code to}: the VIP, the alias, the DNS hook. */
    List<String> clients(HostContext ctx, String from, String to) throws Exception {
        List<String> done = new ArrayList<>();
        if (m.vip()) {
            var vip = m.old().vip().orElseThrow();
            TaskResult off = VirtualIp.absent(vip).run(ctx.on(from));
            TaskResult on = off.isFailure() ? off : VirtualIp.present(vip).run(ctx.on(to));
            if (on.isFailure()) {
                throw new IllegalStateException("the VIP " + vip.address() + " could not be moved to " + to + ": " + on.message());
            }
            done.add("VIP " + vip.address() + " on " + to);
        }
        if (m.names().isPresent()) {
            TaskResult r = m.names().get().lead(ctx, false, to, from);
            if (r.isFailure()) {
                throw new IllegalStateException(r.message());
            }
            done.add(r.message());
        }
        return done;
    }

    TaskResult analyze(HostContext ctx) throws Exception {
        if (status.done(Step.ANALYZED)) {
            return TaskResult.ok("done earlier");
        }
        resolveJobs(ctx);
        List<String> cmd = List.of(m.newBin("vacuumdb"), "-p", String.valueOf(port()), "--all", "--analyze-in-stages", "-j", String.valueOf(jobs));
        return Imperative.of("rebuild statistics on " + m.target(), List.of(String.join(" ", cmd))).run(ctx, () -> {
            long t0 = System.nanoTime();
            Major.postgres(target(ctx), Cmd.of(cmd)).check(m.target());
            status.done(Step.ANALYZED, ctx);
            return TaskResult.changed("statistics rebuilt in " + (System.nanoTime() - t0) / 1_000_000 + " ms", List.of(String.join(" ", cmd)));
        });
    }

    // ---------------------------------------------------------------- report

    TaskResult report(HostContext ctx) {
        UpgradeStatus st = UpgradeStatus.read(ctx, m.statusName());
        List<String> lines = new ArrayList<>();
        lines.add("move: " + m.title() + ": " + st.state());
        long blocked = st.number(Key.BLOCKED_AT);
        long switched = st.number(Key.SWITCHED_AT);
        if (blocked > 0 && switched >= blocked) {
            lines.add(String.format("writes refused (blocked on the source until the clients were moved to %s): %d ms", m.target(), switched - blocked));
        }
        if (st.get(Key.VERIFIED_ITEMS) != null) {
            lines.add("verification while writes were blocked: " + st.get(Key.VERIFIED_ITEMS) + " items identical (" + st.get(Key.VERIFIED_IN, "?") + ")");
        }
        if (st.get(Key.DOOR_CLOSED_AT) != null) {
            List<String> ended = st.list(Key.SESSIONS_ENDED);
            lines.add("clients kept out of " + m.target() + "'s cluster until the switch (pg_hba: nobody but postgres on the local socket); "
                    + (ended.isEmpty() ? "no session was open there" : "sessions ended: " + String.join(", ", ended)));
        }
        String removed = st.get(Key.REMOVED_PARAMETERS, "");
        if (!removed.isEmpty()) {
            lines.add("parameters commented out (not in " + m.next().version() + "): " + removed);
        }
        Map<String, Object> data = new HashMap<>();
        if (st.state() == State.UPGRADED) {
            lines.add("old server: " + m.old().primary() + " keeps " + m.old().version() + "/" + cluster() + " running read-only "
                    + "(ALTER SYSTEM default_transaction_read_only = on), untouched since the copy");
            lines.add("way back: playbook major-move-rollback (refused once " + m.target() + " has taken writes, unless -e accept-data-loss=true)");
            lines.add("next: in the inventory, roles.primary = " + m.target() + ", pg-version = " + m.next().version() + ", no roles.target; "
                    + "when " + m.target() + " is trusted, retire " + m.old().primary());
            Map<String, String> versions = new LinkedHashMap<>();
            versions.put(m.old().primary(), m.old().version() + "/" + cluster() + " (read-only, the way back)");
            versions.put(m.target(), m.next().version() + "/" + cluster() + " (primary)");
            data.put(dev.pgplay.core.output.HtmlReport.VERSIONS, versions);
        } else if (st.state() == State.FAILED_UPGRADE) {
            lines.add("the source takes writes again; run again to retry: " + st.shortMessage());
        }
        if (blocked > 0 && switched >= blocked) {
            data.put(dev.pgplay.core.run.WritesRefused.KEY, new dev.pgplay.core.run.WritesRefused(blocked, switched));
        }
        data.put("report", lines);
        return TaskResult.ok(st.state().text(), data);
    }
}
