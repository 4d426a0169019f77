package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.ConfigCarry;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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

    Pg old(HostContext ctx) {
        return new Pg(ctx, m.old());
    }

    Pg next(HostContext ctx) {
        return new Pg(ctx, m.next());
    }

    private Pg nextOn(HostContext ctx, int port) {
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

    private Optional<PgFacts.Cluster> find(HostContext ctx, String version) {
        ctx.forget(PgFacts.CLUSTERS);
        return PgCluster.find(ctx, version, cluster());
    }

    private static TaskResult changed(String message, List<String> commands, List<String> report) {
        return new TaskResult.Changed(message, commands, Optional.empty(), Map.of("report", report));
    }

    // ---------------------------------------------------------------- the plays

    List<Play> plays() {
        String title = "major upgrade " + m.title() + " (" + m.methodText() + ")";
        String all = String.join(",", java.util.stream.Stream.concat(java.util.stream.Stream.of(m.old().primary()), m.old().standbys().stream()).toList());
        Play packages = Play.of("PostgreSQL " + m.next().version() + " on every node", all)
                .task(Task.of("PostgreSQL " + m.next().version() + " installed", this::packages));
        Play primary = Play.of(title + " on the primary", m.old().primary()).failFast()
                .task(Task.of("where things stand (status on the host)", this::where))
                .task(Task.of("pre-flight checks (nothing is changed if one fails)", this::preflight).when(c -> !finished))
                .task(Task.of("new cluster " + m.next().version() + "/" + cluster() + " with the old cluster's locale, encoding and checksums",
                        this::newCluster).when(c -> !finished))
                .task(Task.of("configuration carried over (postgresql.conf, conf.d, pg_hba.conf, pg_ident.conf, postgresql.auto.conf)",
                        this::carryConfig).when(c -> !finished));
        if (m.dump()) {
            primary = primary.task(Task.of("new cluster running on its side port", this::startSide).when(c -> !finished));
        } else {
            primary = primary.task(Task.of("pg_upgrade --check (old cluster running)", this::check).when(c -> !finished));
        }
        primary = primary.task(Task.of("block writes on " + m.old().version() + " and end client sessions", this::blockWrites).when(c -> !finished))
                .task(Task.of("read the old cluster for verification (tables, rows, checksums, roles, sequences, extensions)", guarded(this::snapshot))
                        .when(c -> !finished));
        if (m.dump()) {
            primary = primary.task(Task.of(m.parallel() ? "copy roles and databases (pg_dumpall --globals-only; pg_dump -Fd -j | pg_restore -j per database)"
                    : "copy everything in one stream (pg_dumpall | psql)", guarded(this::copy)).when(c -> !finished)
                    .irreversible(Duration.ofMinutes(30)));
        } else {
            primary = primary.task(Task.of("stop " + m.old().version() + " (CHECKPOINT, fast shutdown)", guarded(this::stopOld)).when(c -> !finished))
                    .task(Task.of("pg_upgrade --" + m.method(), guarded(this::pgUpgrade)).when(c -> !finished)
                            .irreversible(Duration.ofMinutes(m.method().equals("copy") ? 30 : 2)));
        }
        primary = primary.task(Task.of(m.next().version() + " takes port " + port() + " and starts at boot; " + m.old().version()
                        + " is kept on a side port, not started automatically", guarded(this::swap)).when(c -> !finished))
                .task(Task.of("verify: old against new (still read-only)", guarded(this::verify)).when(c -> !finished))
                .task(Task.of("open " + m.next().version() + " for writes", this::open).when(c -> !finished))
                .task(Task.of("statistics rebuilt (vacuumdb --all --analyze-in-stages)", this::analyze).when(c -> !finished))
                .task(Task.of("replication slots for the standbys", ctx -> ClusterSetup.slots(ctx, m.next(), m.old().standbys()))
                        .when(c -> !finished && !m.old().standbys().isEmpty()));
        Play standbys = Play.of("standbys: rebuild for " + m.next().version(), String.join(",", m.old().standbys())).serial("1")
                .task(Task.of("rebuilt from the upgraded primary (pg_basebackup)", this::rebuildStandby).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("streaming from the primary on " + m.next().version(), ctx -> WaitFor.sql(port(),
                        "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver",
                        "streaming " + ctx.inventory().host(m.old().primary()).address()).timeout(Duration.ofSeconds(90)).run(ctx))
                        .when(ctx -> !ctx.checkMode() && UpgradeStatus.read(ctx.on(m.old().primary()), cluster()).state() == State.UPGRADED));
        Play report = Play.of("report", m.old().primary()).task(Task.of("report", this::report));
        return m.old().standbys().isEmpty() ? List.of(packages, primary, report) : List.of(packages, primary, standbys, report);
    }

    /** A step's work, run under {@link #guarded}. */
    interface Work {
        TaskResult run(HostContext ctx) throws Exception;
    }

    /** Runs a step; if it fails or throws, the old cluster is put back (when that is still possible). */
    private dev.pgplay.core.run.Action guarded(Work step) {
        return ctx -> {
            TaskResult r;
            try {
                r = step.run(ctx);
            } catch (Exception e) {
                r = TaskResult.failed(e.getMessage() == null ? e.toString() : e.getMessage());
            }
            if (r instanceof TaskResult.Failed f && !ctx.checkMode() && !ctx.cancelled()) {
                String back = recover(ctx, f.message());
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

    // ---------------------------------------------------------------- status

    TaskResult where(HostContext ctx) {
        // a command of an earlier run (its controller lost) may still work on the data: wait for it first
        if (!ctx.checkMode()) {
            Detached.adopt(ctx, UNIT, "upgrade command", Duration.ofHours(12));
        }
        status = UpgradeStatus.read(ctx, cluster());
        State state = status.state();
        boolean sameUpgrade = m.next().version().equals(status.get(Key.NEW_VERSION)) && m.old().version().equals(status.get(Key.OLD_VERSION));
        if ((state == State.UPGRADED || state == State.CLEANED) && sameUpgrade) {
            finished = true;
            return TaskResult.ok("already upgraded to " + m.next().version() + " (" + status.summary() + ")");
        }
        if (state == State.UPGRADING || state == State.FAILED_UPGRADE) {
            if (!m.resume()) {
                return TaskResult.failed("a previous run did not finish. Continue it with --resume, or go back to "
                        + status.get(Key.OLD_VERSION) + " with: playbook major-rollback. Status: " + status.summary());
            }
            if (!sameUpgrade || !m.method().equals(status.get(Key.METHOD))) {
                return TaskResult.failed("--resume: the run on the host was " + status.summary() + ", not " + m.title() + " by " + m.method());
            }
            return TaskResult.ok("resuming: " + status.summary());
        }
        if (state == State.PREPARING && sameUpgrade) {
            // nothing was changed on the old cluster yet: start over, keeping what was made
            status.undo(List.of(Step.CONFIG, Step.CHECKED)).put(Key.METHOD, m.method());
            return TaskResult.ok("an earlier run stopped before blocking writes (" + status.summary() + "): starting over");
        }
        Optional<PgFacts.Cluster> old = find(ctx, m.old().version());
        if (old.isEmpty()) {
            return TaskResult.failed("no cluster " + m.old().version() + "/" + cluster() + " on " + ctx.host().name()
                    + " (pg_lsclusters); check pg-version and pg-cluster");
        }
        boolean ours = sameUpgrade && status.flag(Key.NEW_CREATED); // the new cluster left by a rolled-back upgrade
        status = UpgradeStatus.fresh(cluster()).put(Key.OLD_VERSION, m.old().version()).put(Key.NEW_VERSION, m.next().version())
                .put(Key.METHOD, m.method()).put(Key.PORT, port()).put(Key.OLD_DATA, old.get().dataDir()).put(Key.NEW_CREATED, ours ? true : null);
        return TaskResult.ok(state == State.NONE ? "no upgrade recorded: starting" : "last run " + state + ": starting again");
    }

    // ---------------------------------------------------------------- packages and pre-flight

    TaskResult packages(HostContext ctx) throws Exception {
        ExecResult r = ctx.connection().exec(Cmd.of("test", "-x", m.newBin("pg_upgrade")), ExecOptions.DEFAULT);
        if (r.ok()) {
            return TaskResult.ok(m.newBin("pg_upgrade") + " is there");
        }
        List<String> cmds = List.of("apt-get install -y postgresql-" + m.next().version() + " postgresql-client-" + m.next().version());
        if (ctx.checkMode()) {
            return TaskResult.changed("would install postgresql-" + m.next().version(), cmds);
        }
        TaskResult installed = Apt.present("postgresql-" + m.next().version(), "postgresql-client-" + m.next().version()).run(ctx);
        return installed.isFailure() ? installed : TaskResult.changed("installed postgresql-" + m.next().version(), cmds);
    }

    TaskResult preflight(HostContext ctx) {
        if (status.done(Step.WRITES_BLOCKED)) {
            return TaskResult.ok("passed in the run being resumed");
        }
        Pg o = old(ctx);
        List<String> report = new ArrayList<>();
        List<String> blockers = new ArrayList<>();
        PgFacts.Cluster c = o.cluster();
        if (!c.online()) {
            return TaskResult.failed(m.old().version() + "/" + cluster() + " is " + c.status() + "; start it and run again");
        }
        if (o.inRecovery()) {
            return TaskResult.failed(ctx.host().name() + " is in recovery (a standby); roles.primary must name the primary");
        }
        report.add("versions: " + o.serverVersion() + " -> " + nextVersionText(ctx) + " (" + m.methodText() + ")");
        List<String> enc = o.rows("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'template0'").get(0);
        String checksums = o.sql("SHOW data_checksums");
        report.add("locale: encoding " + enc.get(0) + ", LC_COLLATE " + enc.get(1) + ", LC_CTYPE " + enc.get(2) + ", data checksums " + checksums
                + " (the new cluster is made the same)");
        status.put(Key.ENCODING, enc.get(0)).put(Key.LC_COLLATE, enc.get(1)).put(Key.LC_CTYPE, enc.get(2)).put(Key.CHECKSUMS, checksums);

        long size = Long.parseLong(o.sql("SELECT sum(pg_database_size(datname))::bigint FROM pg_database"));
        String parent = c.dataDir().substring(0, c.dataDir().lastIndexOf('/'));
        parent = parent.substring(0, parent.lastIndexOf('/'));
        long free = Long.parseLong(ctx.connection().exec(Cmd.of("df", "-B1", "--output=avail", parent), ExecOptions.as("root"))
                .check(ctx.host().name()).stdout().lines().skip(1).findFirst().orElse("0").trim());
        long need = switch (m.method()) {
            case "link", "clone" -> size / 20 + (64L << 20);
            case "copy" -> size + size / 10 + (64L << 20);
            default -> (m.parallel() ? 2 * size : size) + size / 10 + (64L << 20);
        };
        report.add("disk: data " + mb(size) + ", needs about " + mb(need) + " for " + m.method() + ", free " + mb(free) + " on " + parent);
        if (free < need) {
            blockers.add("not enough disk: " + mb(need) + " needed, " + mb(free) + " free on " + parent);
        }
        String prepared = o.sql("SELECT count(*) FROM pg_prepared_xacts");
        if (!prepared.equals("0")) {
            blockers.add(prepared + " prepared transaction(s): COMMIT PREPARED or ROLLBACK PREPARED them first (pg_prepared_xacts)");
        }
        for (List<String> slot : o.rows("SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY 1")) {
            if (slot.get(1).equals("logical")) {
                blockers.add("logical replication slot " + slot.get(0) + " is not carried over by a major upgrade; drop it "
                        + "(and re-create it on the new cluster) first");
            } else if (m.old().standbys().stream().map(PgSettings::slotFor).anyMatch(slot.get(0)::equals)) {
                report.add("slot " + slot.get(0) + ": made again on " + m.next().version() + " for its standby");
            } else {
                report.add("slot " + slot.get(0) + " (physical, " + (slot.get(2).equals("t") ? "active" : "inactive")
                        + "): not carried over; its consumer must be set up again");
            }
        }
        for (String standby : m.old().standbys()) {
            if (!ctx.on(standby).connection().exec(Cmd.of("test", "-x", m.newBin("postgres")), ExecOptions.DEFAULT).ok()) {
                String missing = "standby " + standby + " has no PostgreSQL " + m.next().version() + " (" + m.newBin("postgres") + ")";
                if (ctx.checkMode()) {
                    report.add(missing + ": installed by the step before in a real run");
                } else {
                    blockers.add(missing + "; install postgresql-" + m.next().version() + " there first");
                }
            }
        }
        List<String> standbyAddresses = m.old().standbys().stream().map(h -> ctx.inventory().host(h).address()).toList();
        for (List<String> r : o.rows("SELECT coalesce(host(client_addr), 'local'), application_name, state FROM pg_stat_replication")) {
            boolean known = standbyAddresses.contains(r.get(0));
            report.add("standby " + r.get(1) + " at " + r.get(0) + " (" + r.get(2) + "): "
                    + (known ? "rebuilt for " + m.next().version() + " after the primary" : "NOT in the inventory: it will stop following; rebuild it by hand"));
        }
        Set<String> extensions = new java.util.TreeSet<>();
        for (String name : Psql.databases(ctx, port(), "datallowconn AND datname <> 'template0'")) {
            List<List<String>> rows = Psql.rows(ctx, port(), name, "SELECT 'e', extname FROM pg_extension;\n"
                    + "SELECT 'r', count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE NOT a.attisdropped AND c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    + "AND a.atttypid IN ('regproc'::regtype, 'regprocedure'::regtype, 'regoper'::regtype, 'regoperator'::regtype, "
                    + "'regconfig'::regtype, 'regdictionary'::regtype, 'regnamespace'::regtype, 'regcollation'::regtype);\n"
                    + "SELECT 't', count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
                    + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast';\n");
            for (List<String> r : rows) {
                if (r.get(0).equals("e")) {
                    extensions.add(r.get(1));
                } else if (r.get(0).equals("r") && !r.get(1).equals("0") && !m.dump()) {
                    blockers.add("database " + name + ": " + r.get(1) + " column(s) of reg* types (regproc, regoper, ...) that pg_upgrade "
                            + "cannot carry; change them to text or oid, or use major-dump");
                } else if (r.get(0).equals("t") && name.equals("template1") && !r.get(1).equals("0") && m.dump()) {
                    notes.add("template1 has " + r.get(1) + " table(s); major-dump does not copy template1");
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String e : extensions) {
            if (!ctx.connection().exec(Cmd.of("test", "-f", "/usr/share/postgresql/" + m.next().version() + "/extension/" + e + ".control"),
                    ExecOptions.DEFAULT).ok()) {
                missing.add(e);
            }
        }
        report.add("extensions in use: " + (extensions.isEmpty() ? "none" : String.join(", ", extensions))
                + (missing.isEmpty() ? " (all available for " + m.next().version() + ")" : ""));
        if (!missing.isEmpty()) {
            blockers.add("extension(s) " + String.join(", ", missing) + " not installed for PostgreSQL " + m.next().version()
                    + ": install their postgresql-" + m.next().version() + "-* packages first");
        }
        blockers.forEach(b -> report.add("BLOCKER: " + b));
        if (!blockers.isEmpty()) {
            return TaskResult.failed(blockers.size() + " blocker(s); nothing was changed: " + String.join("; ", blockers), Map.of("report", report));
        }
        return TaskResult.ok("ready: " + mb(size) + " of data, " + extensions.size() + " extension(s)", Map.of("report", report));
    }

    private String nextVersionText(HostContext ctx) {
        ExecResult r = ctx.connection().exec(Cmd.of(m.newBin("postgres"), "--version"), ExecOptions.DEFAULT);
        return r.ok() ? r.out().replaceAll("^.*\\) ", "") : m.next().version();
    }

    static String mb(long bytes) {
        return (bytes >> 20) + " MB";
    }

    // ---------------------------------------------------------------- the new cluster

    TaskResult newCluster(HostContext ctx) {
        Optional<PgFacts.Cluster> existing = find(ctx, m.next().version());
        if (existing.isPresent() && status.flag(Key.NEW_CREATED) && status.flag(Key.NEW_FRESH)) {
            return TaskResult.ok("made by this upgrade, on port " + existing.get().port());
        }
        if (status.done(Step.PG_UPGRADE) || status.done(Step.COPIED) || status.done(Step.SWAPPED)) {
            return TaskResult.ok("made and filled earlier in this upgrade");
        }
        List<String> done = new ArrayList<>();
        if (existing.isPresent()) {
            if (!status.flag(Key.NEW_CREATED)) {
                String why = emptyOrWhy(ctx, existing.get());
                if (why != null) {
                    return TaskResult.failed(m.next().version() + "/" + cluster() + " already exists and " + why
                            + "; refusing to replace it. Move its data elsewhere or drop it (pg_dropcluster --stop "
                            + m.next().version() + " " + cluster() + ") and run again");
                }
            }
            done.add("pg_dropcluster --stop " + m.next().version() + " " + cluster()
                    + (status.flag(Key.NEW_CREATED) ? " (left by the failed run)" : " (empty, made by the package)"));
            if (ctx.checkMode()) {
                return TaskResult.changed("would drop and make " + m.next().version() + "/" + cluster() + " again", done);
            }
            Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", m.next().version(), cluster()));
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would create " + m.next().version() + "/" + cluster(), List.of("pg_createcluster " + m.next().version() + " " + cluster()));
        }
        List<String> argv = new ArrayList<>(List.of("pg_createcluster", m.next().version(), cluster(), "--start-conf", "manual",
                "--encoding", status.get(Key.ENCODING), "--lc-collate", status.get(Key.LC_COLLATE), "--lc-ctype", status.get(Key.LC_CTYPE)));
        if ("on".equals(status.get(Key.CHECKSUMS))) {
            argv.addAll(List.of("--", "--data-checksums"));
        }
        Pg.root(ctx, Cmd.of(argv));
        PgFacts.Cluster made = find(ctx, m.next().version()).orElseThrow(() -> new IllegalStateException("pg_createcluster made no cluster"));
        done.add(String.join(" ", argv));
        if (!status.done(Step.WRITES_BLOCKED)) {
            status.state(State.PREPARING); // the old cluster is untouched so far: a plain second run may start over
        }
        status.put(Key.NEW_CREATED, true).put(Key.NEW_FRESH, true).put(Key.SIDE_PORT, made.port())
                .put(Key.NEW_DATA, made.dataDir()).put(Key.MESSAGE, null).undo(List.of(Step.CONFIG));
        status.save(ctx);
        return TaskResult.changed("created " + m.next().version() + "/" + cluster() + " on side port " + made.port(), done);
    }

    /** Null when the cluster holds nothing but what initdb made; else why not. */
    private String emptyOrWhy(HostContext ctx, PgFacts.Cluster c) {
        Pg n = nextOn(ctx, c.port());
        if (!c.online()) {
            if (ctx.checkMode()) {
                return null;
            }
            try {
                Pg.root(ctx, Cmd.of("pg_ctlcluster", c.version(), c.name(), "start"));
            } catch (RuntimeException e) {
                return "is down and does not start (" + e.getMessage() + ")";
            }
        }
        String dbs = n.sql("SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')");
        String tables = n.sql("SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind = 'r' "
                + "AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname !~ '^pg_toast'");
        String roles = n.sql("SELECT count(*) FROM pg_roles WHERE rolname !~ '^pg_' AND oid <> 10");
        if (dbs.equals("0") && tables.equals("0") && roles.equals("0")) {
            return null;
        }
        return "holds " + dbs + " database(s), " + tables + " table(s) in postgres and " + roles + " role(s)";
    }

    /** The new cluster's postgresql.conf value of a setting (as written, unquoted), from pg_conftool. */
    private static String conftool(HostContext ctx, String version, String cluster, String name) {
        ExecResult r = ctx.connection().exec(Cmd.of("pg_conftool", "-s", version, cluster, "show", name), ExecOptions.as("root"));
        return r.ok() ? r.out() : null;
    }

    TaskResult carryConfig(HostContext ctx) {
        if (status.done(Step.CONFIG)) {
            return TaskResult.ok("carried over earlier in this upgrade");
        }
        String oldConf = m.old().confDir();
        String newConf = m.next().confDir();
        if (ctx.checkMode()) {
            return TaskResult.changed("would copy " + oldConf + " to " + newConf + " for " + m.next().version(),
                    List.of("postgresql.conf", "conf.d/*.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"));
        }
        Set<String> known = ConfigCarry.parameterNames(ctx.connection().exec(Cmd.of(m.newBin("postgres"), "--describe-config"),
                ExecOptions.as("postgres")).check(ctx.host().name()).stdout());
        Map<String, String> owned = new LinkedHashMap<>();
        for (String k : List.of("data_directory", "hba_file", "ident_file", "external_pid_file")) {
            String v = conftool(ctx, m.next().version(), cluster(), k);
            if (v != null) {
                owned.put(k, v);
            }
        }
        owned.put("port", String.valueOf(sidePort()));
        owned.put("cluster_name", m.next().version() + "/" + cluster());
        List<String> removed = new ArrayList<>();
        List<String> copied = new ArrayList<>();
        ConfigCarry.Result main = ConfigCarry.carry(cat(ctx, oldConf + "/postgresql.conf"), known, owned, Set.of(), m.old().version(), m.next().version());
        write(ctx, newConf + "/postgresql.conf", main.text(), "0644");
        removed.addAll(main.removed());
        copied.add("postgresql.conf");
        String list = Pg.root(ctx, Cmd.of("find", oldConf + "/conf.d", "-maxdepth", "1", "-type", "f", "-name", "*.conf", "-printf", "%f\\n")).stdout();
        for (String f : list.lines().filter(l -> !l.isBlank()).toList()) {
            // an include file only rewrites the owned settings it has
            ConfigCarry.Result r = ConfigCarry.carry(cat(ctx, oldConf + "/conf.d/" + f), known, owned, Set.of(), m.old().version(),
                    m.next().version(), false);
            Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0755", newConf + "/conf.d"));
            write(ctx, newConf + "/conf.d/" + f, r.text(), "0644");
            removed.addAll(r.removed());
            copied.add("conf.d/" + f);
        }
        for (String f : List.of("pg_hba.conf", "pg_ident.conf", "pg_ctl.conf", "environment")) {
            if (ctx.connection().exec(Cmd.of("test", "-f", oldConf + "/" + f), ExecOptions.as("root")).ok()) {
                write(ctx, newConf + "/" + f, cat(ctx, oldConf + "/" + f), f.equals("pg_hba.conf") || f.equals("pg_ident.conf") ? "0640" : "0644");
                copied.add(f);
            }
        }
        String auto = status.get(Key.OLD_DATA) + "/postgresql.auto.conf";
        if (ctx.connection().exec(Cmd.of("test", "-f", auto), ExecOptions.as("root")).ok()) {
            ConfigCarry.Result r = ConfigCarry.carry(cat(ctx, auto), known, Map.of(), Set.of("default_transaction_read_only"),
                    m.old().version(), m.next().version());
            write(ctx, status.get(Key.NEW_DATA) + "/postgresql.auto.conf", r.text(), "0600");
            removed.addAll(r.removed());
            copied.add("postgresql.auto.conf (ALTER SYSTEM settings)");
        }
        status.put(Key.REMOVED_PARAMETERS, String.join(" | ", removed)).done(Step.CONFIG, ctx);
        List<String> report = new ArrayList<>();
        report.add("copied: " + String.join(", ", copied));
        if (removed.isEmpty()) {
            report.add("every parameter exists in " + m.next().version());
        } else {
            removed.forEach(r -> report.add("not a parameter of " + m.next().version() + ", commented out: " + r));
        }
        return changed("configuration of " + m.old().version() + "/" + cluster() + " carried over"
                + (removed.isEmpty() ? "" : "; " + removed.size() + " removed parameter(s)"), copied, report);
    }

    static String cat(HostContext ctx, String path) {
        return Pg.root(ctx, Cmd.of("cat", path)).stdout();
    }

    static void write(HostContext ctx, String path, String text, String mode) {
        ctx.connection().upload(text.getBytes(StandardCharsets.UTF_8), path, mode, "postgres:postgres");
    }

    // ---------------------------------------------------------------- pg_upgrade

    private List<String> pgUpgradeArgs(boolean check) {
        List<String> a = new ArrayList<>(List.of("sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", m.workDir(), m.newBin("pg_upgrade"),
                "-b", m.oldBinDir(), "-B", m.newBinDir(), "-d", status.get(Key.OLD_DATA, "OLD-DATA"),
                "-D", status.get(Key.NEW_DATA, "/var/lib/postgresql/" + m.next().version() + "/" + cluster()),
                "-o", "-c config_file=" + m.old().confDir() + "/postgresql.conf", "-O", "-c config_file=" + m.next().confDir() + "/postgresql.conf",
                "-p", String.valueOf(port()), "-P", sidePort() > 0 ? String.valueOf(sidePort()) : "SIDE-PORT", "-j", String.valueOf(jobs)));
        if (!m.method().equals("copy")) {
            a.add("--" + m.method()); // copying is the default; --copy exists only from PostgreSQL 16
        }
        if (check) {
            a.add("--check");
        }
        return a;
    }

    private void resolveJobs(HostContext ctx) {
        if (jobs == 0) {
            jobs = m.jobs() > 0 ? m.jobs() : Integer.parseInt(ctx.connection().exec(Cmd.of("nproc"), ExecOptions.DEFAULT).check(ctx.host().name()).out());
        }
    }

    TaskResult check(HostContext ctx) {
        if (status.done(Step.OLD_STOPPED)) {
            return TaskResult.ok("passed in the run being resumed (the old cluster is stopped now)");
        }
        resolveJobs(ctx);
        if (ctx.checkMode()) {
            return TaskResult.changed("would run pg_upgrade --check", List.of(String.join(" ", pgUpgradeArgs(true))));
        }
        Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", m.workDir()));
        ExecResult r = postgres(ctx, Cmd.of(pgUpgradeArgs(true)));
        List<String> report = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        if (!r.ok()) {
            return TaskResult.failed("pg_upgrade --check failed; nothing was changed on " + m.old().version() + ": "
                    + RemoteCommandException.lastLines(r.stdout() + "\n" + r.stderr(), 6) + " (details in " + m.workDir() + " and "
                    + status.get(Key.NEW_DATA) + "/pg_upgrade_output.d)", Map.of("report", report));
        }
        status.done(Step.CHECKED, ctx);
        return TaskResult.ok("Clusters are compatible", Map.of("report", report));
    }

    TaskResult stopOld(HostContext ctx) {
        if (status.done(Step.OLD_STOPPED)) {
            return TaskResult.ok("stopped earlier in this upgrade");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would CHECKPOINT and stop " + m.old().version() + "/" + cluster(), List.of("CHECKPOINT", "pg_ctl stop -m fast"));
        }
        // nothing may start the old cluster while its data is being upgraded (a reboot, a package's postinst):
        // start.conf manual first; the swap keeps it manual, going back makes it auto again
        startConf(ctx, m.old().version(), "manual");
        Map<String, String> control = old(ctx).stopAndReadControl();
        String unclean = stoppedUncleanly(control);
        if (unclean != null) {
            return TaskResult.failed(unclean);
        }
        status.done(Step.OLD_STOPPED, ctx);
        return TaskResult.changed("stopped; shutdown checkpoint at " + control.get("Latest checkpoint location"), List.of("CHECKPOINT", "pg_ctl stop -m fast"));
    }

    /** Records when the old cluster stopped; why its shutdown was not clean, or null when it was. */
    private String stoppedUncleanly(Map<String, String> control) {
        status.put(Key.STOPPED_AT, System.currentTimeMillis());
        String state = control.getOrDefault("Database cluster state", "?");
        return "shut down".equals(state) ? null
                : m.old().version() + "/" + cluster() + " did not shut down cleanly (pg_controldata: " + state + ")";
    }

    TaskResult pgUpgrade(HostContext ctx) {
        if (status.done(Step.PG_UPGRADE)) {
            return TaskResult.ok("done earlier in this upgrade");
        }
        resolveJobs(ctx);
        if (ctx.checkMode()) {
            return TaskResult.changed("would run pg_upgrade --" + m.method(), List.of(String.join(" ", pgUpgradeArgs(false))));
        }
        restorePgControl(ctx);
        if (!status.flag(Key.NEW_FRESH)) {
            // a pg_upgrade of an earlier run left the new cluster half done: start from a new one
            newCluster(ctx);
            carryConfig(ctx);
        }
        status.put(Key.NEW_FRESH, false).save(ctx);
        Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", m.workDir()));
        long t0 = System.nanoTime();
        ExecResult r = postgres(ctx, Cmd.of(pgUpgradeArgs(false)));
        if (!r.ok()) {
            return TaskResult.failed("pg_upgrade failed: " + RemoteCommandException.lastLines(r.stdout() + "\n" + r.stderr(), 6),
                    Map.of("report", r.stdout().lines().filter(l -> !l.isBlank()).toList()));
        }
        status.done(Step.PG_UPGRADE, ctx);
        return TaskResult.changed("pg_upgrade --" + m.method() + " done in " + (System.nanoTime() - t0) / 1_000_000 + " ms (" + jobs + " jobs)",
                List.of(String.join(" ", pgUpgradeArgs(false))));
    }

    /** pg_upgrade --link renames the old global/pg_control to pg_control.old; undone while the new cluster never ran. */
    private void restorePgControl(HostContext ctx) {
        String control = status.get(Key.OLD_DATA) + "/global/pg_control";
        Pg.root(ctx, Cmd.of("sh", "-c", "[ -e \"$1\" ] || [ ! -e \"$1.old\" ] || mv \"$1.old\" \"$1\"", "sh", control));
    }

    // ---------------------------------------------------------------- dump and restore

    TaskResult startSide(HostContext ctx) {
        if (status.done(Step.SWAPPED)) {
            return TaskResult.ok("swapped earlier in this upgrade");
        }
        Pg n = nextOn(ctx, sidePort());
        if (find(ctx, m.next().version()).map(PgFacts.Cluster::online).orElse(false)) {
            return TaskResult.ok("running on port " + sidePort());
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would start " + m.next().version() + "/" + cluster() + " on port " + sidePort(), List.of("pg_ctl start"));
        }
        n.start();
        return TaskResult.changed("started on port " + sidePort(), List.of("pg_ctl start"));
    }

    TaskResult copy(HostContext ctx) throws Exception {
        if (status.done(Step.COPIED)) {
            return TaskResult.ok("copied earlier in this upgrade");
        }
        resolveJobs(ctx);
        // postgres first: it is dropped and made anew on the new cluster before the others are restored
        List<String> dbs = new ArrayList<>(Psql.databases(ctx, port(), "datallowconn AND datname NOT IN ('template0', 'template1')"));
        if (dbs.remove("postgres")) {
            dbs.add(0, "postgres");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would copy " + dbs.size() + " database(s)", List.of(m.parallel() ? "pg_dump -Fd -j" + jobs + " / pg_restore -j" + jobs : "pg_dumpall | psql"));
        }
        String work = m.workDir();
        // processes of an interrupted run would write into what is redone now
        killLeftovers(ctx);
        Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", work));
        Pg n = nextOn(ctx, sidePort());
        List<String> commands = new ArrayList<>();
        long t0 = System.nanoTime();
        if (!m.parallel()) {
            if (status.done(Step.COPY_STARTED)) {
                // a single stream cannot continue: start over on an empty new cluster
                Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", m.next().version(), cluster()));
                status.put(Key.NEW_CREATED, false).save(ctx);
                newCluster(ctx);
                carryConfig(ctx);
                startSide(ctx);
                n = nextOn(ctx, sidePort());
            }
            status.done(Step.COPY_STARTED, ctx);
            String script = "set -o pipefail\n\"$1/pg_dumpall\" -p \"$2\" | sed '/^CREATE ROLE postgres;$/d' | psql -X -q -v ON_ERROR_STOP=1 -p \"$3\" -d postgres >/dev/null";
            ExecResult r = postgres(ctx, Cmd.of("bash", "-c", script, "bash", m.newBinDir(), String.valueOf(port()), String.valueOf(sidePort())));
            if (!r.ok()) {
                return TaskResult.failed("pg_dumpall | psql failed: " + RemoteCommandException.lastLines(r.stderr(), 4));
            }
            commands.add("pg_dumpall -p " + port() + " | psql -p " + sidePort());
        } else {
            if (!status.done(Step.GLOBALS)) {
                String script = "set -o pipefail\n\"$1/pg_dumpall\" -p \"$2\" --globals-only | sed '/^CREATE ROLE postgres;$/d' > \"$4/globals.sql\"\n"
                        + "psql -X -q -p \"$3\" -d postgres -f \"$4/globals.sql\" 2>&1 >/dev/null | grep ERROR | grep -v 'already exists' && exit 1; exit 0";
                ExecResult r = postgres(ctx, Cmd.of("bash", "-c", script, "bash", m.newBinDir(), String.valueOf(port()),
                        String.valueOf(sidePort()), work));
                if (!r.ok()) {
                    return TaskResult.failed("roles and tablespaces (pg_dumpall --globals-only) could not be restored: " + RemoteCommandException.lastLines(r.stdout() + r.stderr(), 4));
                }
                status.done(Step.GLOBALS, ctx);
                commands.add("pg_dumpall --globals-only | psql");
            }
            int i = 0;
            for (String db : dbs) {
                i++;
                if (status.list(Key.DATABASES_DONE).contains(db)) {
                    continue;
                }
                if (ctx.cancelled()) {
                    return TaskResult.failed("cancelled before database " + db);
                }
                String dir = work + "/db-" + i;
                if (db.equals("postgres")) {
                    Psql.run(ctx, sidePort(), "template1", "DROP DATABASE postgres");
                    Psql.run(ctx, sidePort(), "template1", "CREATE DATABASE postgres TEMPLATE template0");
                } else {
                    Psql.run(ctx, sidePort(), "postgres", "DROP DATABASE IF EXISTS " + Psql.ident(db));
                }
                ctx.progress("database " + db + ": pg_dump -Fd -j " + jobs);
                ExecResult d = postgres(ctx, Cmd.of("sh", "-c", "rm -rf \"$2\" && exec \"$1/pg_dump\" -p \"$3\" -Fd -Z0 -j \"$4\" -f \"$2\" \"$5\"",
                        "sh", m.newBinDir(), dir, String.valueOf(port()), String.valueOf(jobs), Psql.conninfo(db)));
                if (!d.ok()) {
                    return TaskResult.failed("pg_dump of database " + db + " failed: " + RemoteCommandException.lastLines(d.stderr(), 4));
                }
                ctx.progress("database " + db + ": pg_restore -j " + jobs);
                List<String> restore = new ArrayList<>(List.of(m.newBin("pg_restore"), "-p", String.valueOf(sidePort()), "-j", String.valueOf(jobs),
                        "--exit-on-error", "-d", "postgres"));
                if (!db.equals("postgres")) {
                    restore.add("-C");
                }
                restore.add(dir);
                ExecResult rr = postgres(ctx, Cmd.of(restore));
                if (!rr.ok()) {
                    return TaskResult.failed("pg_restore of database " + db + " failed: " + RemoteCommandException.lastLines(rr.stderr(), 4));
                }
                Pg.root(ctx, Cmd.of("rm", "-rf", dir));
                status.add(Key.DATABASES_DONE, db).save(ctx);
                commands.add("pg_dump -Fd -j" + jobs + " " + db + " | pg_restore -j" + jobs);
            }
        }
        status.done(Step.COPIED, ctx);
        return TaskResult.changed("copied " + dbs.size() + " database(s) in " + (System.nanoTime() - t0) / 1_000_000 + " ms", commands);
    }

    // ---------------------------------------------------------------- the cut-over

    TaskResult blockWrites(HostContext ctx) {
        if (status.done(Step.WRITES_BLOCKED)) {
            if (!status.done(Step.OLD_STOPPED) && !status.done(Step.SWAPPED) && old(ctx).online()
                    && !"on".equals(old(ctx).sql("SHOW default_transaction_read_only"))) {
                // someone opened the old cluster again: what was copied may be stale
                status.undo(List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.GLOBALS, Step.COPIED, Step.COPY_STARTED));
            } else {
                return TaskResult.ok("blocked earlier in this upgrade");
            }
        }
        List<String> cmds = List.of("ALTER SYSTEM SET default_transaction_read_only = on", "pg_terminate_backend(client backends)");
        if (ctx.checkMode()) {
            return TaskResult.changed("would block writes on " + m.old().version() + "/" + cluster(), cmds);
        }
        Pg o = old(ctx);
        status.state(State.UPGRADING).put(Key.BLOCKED_AT, System.currentTimeMillis()).put(Key.MESSAGE, null);
        status.done(Step.WRITES_BLOCKED, ctx);
        String ended = o.sql("ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf(); "
                + "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
        String last = ended.lines().reduce((x, y) -> y).orElse("0");
        return TaskResult.changed("writes blocked, " + last + " client session(s) ended", cmds);
    }

    Snapshot before;

    String snapshotFile() {
        return UpgradeStatus.DIR + "/major-" + cluster() + ".before";
    }

    TaskResult snapshot(HostContext ctx) throws InterruptedException {
        if (status.done(Step.SNAPSHOT)) {
            before = Snapshot.parse(cat(ctx, snapshotFile()));
            return TaskResult.ok("read earlier in this upgrade: " + before.items().size() + " items");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: the old cluster is read when writes are blocked");
        }
        resolveJobs(ctx);
        long t0 = System.nanoTime();
        before = Snapshot.read(ctx, port(), jobs);
        ctx.connection().upload(before.text().getBytes(StandardCharsets.UTF_8), snapshotFile(), "0600", "root:root");
        status.done(Step.SNAPSHOT, ctx);
        long dbs = before.items().keySet().stream().filter(k -> k.endsWith(": database")).count();
        return TaskResult.ok(before.items().size() + " items from " + dbs + " database(s) in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    TaskResult swap(HostContext ctx) {
        if (status.done(Step.SWAPPED)) {
            if (!next(ctx).online()) {
                next(ctx).start();
                return TaskResult.changed("started " + m.next().version() + " again", List.of("pg_ctl start"));
            }
            return TaskResult.ok("swapped earlier in this upgrade");
        }
        List<String> cmds = List.of("pg_conftool " + m.next().version() + " " + cluster() + " set port " + port(),
                "pg_conftool " + m.old().version() + " " + cluster() + " set port " + sidePort(), "start.conf: auto / manual",
                "default_transaction_read_only = on in " + m.next().version() + "'s postgresql.auto.conf until verified", "start");
        if (ctx.checkMode()) {
            return TaskResult.changed("would swap ports and start " + m.next().version(), cmds);
        }
        if (old(ctx).online()) {
            String unclean = stoppedUncleanly(old(ctx).stopAndReadControl());
            if (unclean != null) {
                return TaskResult.failed(unclean);
            }
        }
        if (find(ctx, m.next().version()).map(PgFacts.Cluster::online).orElse(false)) {
            nextOn(ctx, sidePort()).stopFast();
        }
        ports(ctx, true);
        Pg.root(ctx, Cmd.of("sh", "-c", "printf '%s\\n' \"default_transaction_read_only = 'on'\" >> \"$1\" && chown postgres:postgres \"$1\" && chmod 0600 \"$1\"",
                "sh", status.get(Key.NEW_DATA) + "/postgresql.auto.conf"));
        if (m.method().equals("link")) {
            status.put(Key.MESSAGE, "link mode: the new cluster was started; the old one cannot be used any more");
        }
        status.put(Key.NEW_STARTED, true).save(ctx);
        next(ctx).start();
        status.put(Key.UP_AT, System.currentTimeMillis()).done(Step.SWAPPED, ctx);
        return TaskResult.changed(m.next().version() + " runs on port " + port() + " (read-only until verified); " + m.old().version()
                + " kept on port " + sidePort(), cmds);
    }

    /** Writes a cluster's start.conf (auto: started at boot and by package scripts; manual: only when asked). */
    void startConf(HostContext ctx, String version, String value) {
        new Pg(ctx, version.equals(m.old().version()) ? m.old() : m.next()).startConf(value, false);
    }

    /** Ports and start.conf: the new cluster on the main port ({@code forward}) or back on its side port. */
    void ports(HostContext ctx, boolean forward) {
        String nv = m.next().version();
        String ov = m.old().version();
        int newPort = forward ? port() : sidePort();
        int oldPort = forward ? sidePort() : port();
        Pg.root(ctx, Cmd.of("pg_conftool", nv, cluster(), "set", "port", String.valueOf(newPort)));
        Pg.root(ctx, Cmd.of("pg_conftool", ov, cluster(), "set", "port", String.valueOf(oldPort)));
        Pg.root(ctx, Cmd.of("sh", "-c", "echo \"$1\" > \"/etc/postgresql/$2/$4/start.conf\" && echo \"$3\" > \"/etc/postgresql/$5/$4/start.conf\"",
                "sh", forward ? "auto" : "manual", nv, forward ? "manual" : "auto", cluster(), ov));
        ctx.forget(PgFacts.CLUSTERS);
    }

    TaskResult verify(HostContext ctx) throws InterruptedException {
        if (status.done(Step.VERIFIED)) {
            return TaskResult.ok("verified earlier in this upgrade");
        }
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: nothing to compare yet");
        }
        if (before == null) {
            before = Snapshot.parse(cat(ctx, snapshotFile()));
        }
        resolveJobs(ctx);
        Snapshot after = Snapshot.read(ctx, port(), jobs);
        List<Snapshot.Row> rows = Snapshot.compare(before, after);
        List<String> table = Snapshot.table(rows);
        long bad = rows.stream().filter(r -> !r.ok()).count();
        long tables = rows.stream().filter(r -> r.item().contains(": table ")).count();
        if (bad > 0) {
            return TaskResult.failed(bad + " difference(s) between " + m.old().version() + " and " + m.next().version(), Map.of("report", table));
        }
        status.put(Key.VERIFIED_ITEMS, rows.size()).done(Step.VERIFIED, ctx);
        return TaskResult.ok(rows.size() + " items identical (" + tables + " tables with rows and checksums)", Map.of("report", table));
    }

    TaskResult open(HostContext ctx) {
        if (status.done(Step.OPENED)) {
            return TaskResult.ok("opened earlier in this upgrade");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would allow writes", List.of("ALTER SYSTEM RESET default_transaction_read_only"));
        }
        // read while nothing can write yet: every write after the opening lies beyond it (rollback reads the WAL from there);
        // a run cut after the opening keeps the mark it saved before it
        boolean openedBefore = "off".equals(next(ctx).sql("SHOW default_transaction_read_only"));
        if (!openedBefore || status.get(Key.WAL_AT_OPEN) == null) {
            status.put(Key.WAL_AT_OPEN, next(ctx).sql("SELECT pg_current_wal_insert_lsn()")).save(ctx);
        }
        next(ctx).sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
        status.put(Key.OPENED_AT, System.currentTimeMillis()).state(State.UPGRADED).put(Key.MESSAGE, null).done(Step.OPENED, ctx);
        return TaskResult.changed("writes allowed on " + m.next().version(), List.of("ALTER SYSTEM RESET default_transaction_read_only"));
    }

    TaskResult analyze(HostContext ctx) {
        if (status.done(Step.ANALYZED)) {
            return TaskResult.ok("done earlier");
        }
        resolveJobs(ctx);
        List<String> cmd = List.of(m.newBin("vacuumdb"), "-p", String.valueOf(port()), "--all", "--analyze-in-stages", "-j", String.valueOf(jobs));
        if (ctx.checkMode()) {
            return TaskResult.changed("would rebuild statistics", List.of(String.join(" ", cmd)));
        }
        long t0 = System.nanoTime();
        postgres(ctx, Cmd.of(cmd)).check(ctx.host().name());
        status.put(Key.USER_WRITES, userWrites(ctx, port())).done(Step.ANALYZED, ctx);
        return TaskResult.changed("statistics rebuilt in " + (System.nanoTime() - t0) / 1_000_000 + " ms", List.of(String.join(" ", cmd)));
    }

    /** Rows inserted, updated or deleted in user tables since the server started (survives a clean restart). */
    static long userWrites(HostContext ctx, int port) {
        long sum = 0;
        for (String db : Psql.databases(ctx, port, "datallowconn")) {
            sum += Long.parseLong(Psql.rows(ctx, port, db,
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables").get(0).get(0));
        }
        return sum;
    }

    // ---------------------------------------------------------------- failure: back to the old cluster

    /**
     * Puts the old cluster back on its port, writable, and records failed-upgrade; in link mode
     * after the new cluster started that is impossible, and the new one stays up read-only.
     */
    String recover(HostContext ctx, String reason) {
        try {
            status.state(State.FAILED_UPGRADE).put(Key.MESSAGE, reason);
            if (m.method().equals("link") && status.flag(Key.NEW_STARTED)) {
                status.save(ctx);
                return "link mode and the new cluster has run: the old cluster cannot be started again. " + m.next().version()
                        + " stays up read-only; fix the cause and run again with --resume";
            }
            back(ctx);
            status.undo(UNDONE_BY_GOING_BACK).put(Key.NEW_STARTED, false).put(Key.NEW_FRESH, false);
            status.save(ctx);
            return "the old cluster " + m.old().version() + "/" + cluster() + " runs again on port " + port()
                    + " and takes writes; its data was not changed. Fix the cause and run again with --resume";
        } catch (RuntimeException e) {
            return "PUTTING THE OLD CLUSTER BACK FAILED TOO: " + e.getMessage() + "; status: " + status.summary();
        }
    }

    /** Ends pg_dump/pg_restore/pg_upgrade processes an interrupted run left working in the work directory. */
    void killLeftovers(HostContext ctx) {
        if (Detached.running(ctx, UNIT)) {
            Detached.stop(ctx, UNIT); // its whole cgroup, before anything is put back
        }
        String dir = m.workDir() + "/";
        // "[/]var/..." matches the processes but not this shell's own command line
        String pattern = "[" + dir.charAt(0) + "]" + dir.substring(1);
        Pg.root(ctx, Cmd.of("sh", "-c", "pkill -f -- \"$1\" && sleep 0.5; pkill -9 -f -- \"$1\"; true", "sh", pattern));
    }

    /** Stops the new cluster, gives the old one its port back, starts it and allows writes. */
    void back(HostContext ctx) {
        killLeftovers(ctx);
        Optional<PgFacts.Cluster> n = find(ctx, m.next().version());
        if (n.isPresent() && n.get().online()) {
            Pg.root(ctx, Cmd.of("pg_ctlcluster", "--force", m.next().version(), cluster(), "stop"));
        }
        if (n.isPresent() && sidePort() > 0) {
            ports(ctx, false);
        }
        restorePgControl(ctx);
        startConf(ctx, m.old().version(), "auto");
        Pg o = old(ctx);
        if (!o.online()) {
            o.start();
        }
        o.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
    }

    // ---------------------------------------------------------------- standbys

    TaskResult rebuildStandby(HostContext ctx) throws Exception {
        HostContext p = ctx.on(m.old().primary());
        UpgradeStatus ps = UpgradeStatus.read(p, cluster());
        if (ps.state() != State.UPGRADED || !m.next().version().equals(ps.get(Key.NEW_VERSION))) {
            return TaskResult.skipped("the primary is not upgraded (" + ps.summary() + ")");
        }
        UpgradeStatus ss = UpgradeStatus.read(ctx, cluster());
        String primaryAddress = ctx.inventory().host(m.old().primary()).address();
        Optional<PgFacts.Cluster> existing = find(ctx, m.next().version());
        if (ss.state() == State.STANDBY_REBUILT && m.next().version().equals(ss.get(Key.NEW_VERSION)) && existing.map(PgFacts.Cluster::online).orElse(false)
                && next(ctx).streamingFrom(primaryAddress)) {
            return TaskResult.ok("already rebuilt, streaming from " + m.old().primary());
        }
        List<String> plan = List.of("stop " + m.old().version() + "/" + cluster() + " (kept, not started at boot)",
                "create " + m.next().version() + "/" + cluster() + " with the configuration carried over",
                "pg_basebackup from " + m.old().primary(), "standby.signal + primary_conninfo", "start");
        if (ctx.checkMode()) {
            return TaskResult.changed("would rebuild " + ctx.host().name() + " for " + m.next().version(), plan);
        }
        int side = (int) ps.number(Key.SIDE_PORT);
        Optional<PgFacts.Cluster> oldCluster = find(ctx, m.old().version());
        if (oldCluster.isPresent()) {
            startConf(ctx, m.old().version(), "manual"); // kept, never started again by a reboot or a package
        }
        if (oldCluster.isPresent() && oldCluster.get().online()) {
            Pg.root(ctx, Cmd.of("pg_ctlcluster", m.old().version(), cluster(), "stop", "-m", "fast"));
        }
        if (existing.isPresent() && !ss.flag(Key.NEW_CREATED)) {
            String why = emptyOrWhy(ctx, existing.get());
            if (why != null) {
                return TaskResult.failed(m.next().version() + "/" + cluster() + " on this standby " + why + "; refusing to replace it");
            }
        }
        if (existing.isPresent()) {
            Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", m.next().version(), cluster()));
        }
        if (oldCluster.isPresent()) {
            Pg.root(ctx, Cmd.of("pg_conftool", m.old().version(), cluster(), "set", "port", String.valueOf(side)));
        }
        // manual until it is a clone with standby.signal: an empty new cluster started by a reboot would be a writable primary
        Pg.root(ctx, Cmd.of("pg_createcluster", m.next().version(), cluster(), "--port", String.valueOf(port()), "--start-conf", "manual"));
        PgFacts.Cluster made = find(ctx, m.next().version()).orElseThrow();
        UpgradeStatus mine = UpgradeStatus.fresh(cluster()).state(State.REBUILDING).put(Key.OLD_VERSION, m.old().version())
                .put(Key.NEW_VERSION, m.next().version()).put(Key.METHOD, "pg_basebackup").put(Key.PORT, port()).put(Key.SIDE_PORT, side)
                .put(Key.NEW_CREATED, true).put(Key.NEW_DATA, made.dataDir())
                .put(Key.OLD_DATA, oldCluster.map(PgFacts.Cluster::dataDir).orElse(""));
        mine.save(ctx);
        Major sm = new Major(m);
        sm.status = mine;
        if (oldCluster.isPresent()) {
            sm.carryConfig(ctx);
            // the carried configuration took the side port; this cluster serves on the main port
            Pg.root(ctx, Cmd.of("pg_conftool", m.next().version(), cluster(), "set", "port", String.valueOf(port())));
        }
        TaskResult cloned = ClusterSetup.cloneStandby(ctx, m.next(), true);
        if (cloned.isFailure()) {
            return cloned;
        }
        startConf(ctx, m.next().version(), "auto");
        mine.state(State.STANDBY_REBUILT).save(ctx);
        return TaskResult.changed("rebuilt for " + m.next().version() + " from " + m.old().primary() + "; " + m.old().version()
                + " kept on port " + side, plan);
    }

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
            lines.add("verification: " + st.get(Key.VERIFIED_ITEMS) + " items identical (table above)");
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
        return TaskResult.ok(st.state().text(), Map.of("report", lines));
    }
}
