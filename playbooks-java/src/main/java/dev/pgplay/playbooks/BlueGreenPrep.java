package dev.pgplay.playbooks;

import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.modules.FileContent;
import dev.pgplay.core.modules.ManagedBlock;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import dev.pgplay.playbooks.BlueGreenStatus.Phase;
import dev.pgplay.postgres.DdlGuard;
import dev.pgplay.postgres.LogicalGrants;
import dev.pgplay.postgres.LogicalReadiness;
import dev.pgplay.postgres.MaterializedViews;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Publication;
import dev.pgplay.postgres.ReplicationRole;
import dev.pgplay.postgres.SchemaCopy;
import dev.pgplay.postgres.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * bluegreen-prepare, with blue serving writes all along: pre-flight on blue (keys, settings,
 * large objects, extensions and disk on green), green's cluster of the new major, access both
 * ways (pg_hba, .pgpass), the DDL guard on blue, roles and schemas copied, publications on both
 * sides, green subscribed with the initial copy, caught up, ANALYZEd. Green stays read-only for
 * everyone but the replication until a switch opens it. Every step is idempotent: a cut prepare
 * is finished by running it again.
 */
final class BlueGreenPrep {
    private final BlueGreen bg;
    private final BlueGreenSettings s;

    BlueGreenPrep(BlueGreen bg) {
        this.bg = bg;
        this.s = bg.s;
    }

    List<Play> plays() {
        PgSettings green = s.greenCluster();
        String blueHost = s.blue().primary();
        Play where = Play.of("where things stand", blueHost).failFast()
                .task(Task.of("blue-green status on both hosts", this::where));
        Play greenCluster = Play.of("green: PostgreSQL " + s.nextVersion() + " on " + s.green(), s.green()).failFast()
                .task(Task.of("postgresql-" + s.nextVersion() + " installed", Apt.present("postgresql-" + s.nextVersion())))
                .task(Task.of("pre-flight checks on blue (nothing is changed if one fails)", this::preflight))
                .task(Task.of("cluster " + green.version() + "/" + green.cluster() + " on port " + green.port() + ", empty or pgplay's", this::cluster))
                .task(Task.of("logical replication settings (workers, slots and senders for every database of blue)",
                        ctx -> FileContent.of(green.confDir() + "/conf.d/pgplay-bluegreen.conf", settings(LogicalReadiness.read(bg.on(ctx, Side.BLUE), bg.port())),
                                "0644", "postgres:postgres").run(ctx)).notify("restart green"))
                .task(Task.of("pg_hba: blue and the clients", ctx -> ManagedBlock.atTop(green.confDir() + "/pg_hba.conf", "bluegreen",
                        hba(ctx, Side.BLUE)).run(ctx)).notify("reload green"))
                .task(Task.of("replication password for blue (.pgpass)", ctx -> pgpass(ctx, Side.BLUE)))
                .task(Task.flushHandlers())
                .task(Task.of("read-only for everyone but pgplay and the replication", ctx -> readOnly(ctx)))
                .handler(Task.of("restart green", PgCluster.restarted(green.version(), green.cluster())))
                .handler(Task.of("reload green", PgCluster.reloaded(green.version(), green.cluster())));
        Play blue = Play.of("blue: green may follow", blueHost).failFast()
                // the new major's pg_dump and pg_dumpall read blue here (schemas, roles; at each switch too): the client package only
                .task(Task.of("postgresql-client-" + s.nextVersion() + " installed", Apt.present("postgresql-client-" + s.nextVersion())))
                .task(Task.of("pg_hba: green", ctx -> ManagedBlock.atTop(s.blue().confDir() + "/pg_hba.conf", "bluegreen",
                        hba(ctx, Side.GREEN)).run(ctx)).notify("reload blue"))
                .task(Task.of("replication password for green (.pgpass)", ctx -> pgpass(ctx, Side.GREEN)))
                .task(Task.flushHandlers())
                .task(Task.of("replication role " + s.blue().replicationUser(),
                        ReplicationRole.present(bg.port(), s.blue().replicationUser(), s.blue().replicationPassword())))
                .task(Task.of("replica identity FULL for tables without a key", this::identityFull).when(c -> s.identityFull()))
                .task(Task.of("SELECT for " + s.blue().replicationUser() + " on every table", LogicalGrants.present(bg.port(), s.blue().replicationUser())))
                .task(Task.of("DDL guard (refuses schema changes green would miss)", DdlGuard.on(bg.port())))
                .task(Task.of("publication of all tables", Publication.present(bg.port())))
                .handler(Task.of("reload blue", PgCluster.reloaded(s.blue().version(), s.blue().cluster())));
        Play follow = Play.of("green: roles, schema and rows from blue", s.green()).failFast()
                .task(Task.of("connections both ways as " + s.blue().replicationUser(), this::connectivity))
                .task(Task.of("roles (pg_dumpall --globals-only)", ctx -> globals(ctx)))
                .task(Task.of("schemas (pg_dump --schema-only, new major's pg_dump)", this::schemas))
                .task(Task.of("no DDL guard on green while it follows", DdlGuard.off(bg.port())))
                .task(Task.of("publication of all tables (the way back)", Publication.present(bg.port())))
                .task(Task.of("subscribed to blue (initial copy)", ctx -> Subscription.present(bg.port(), null, bg.publisher(ctx, Side.BLUE), true).run(ctx)))
                .task(Task.of("initial copy done", this::copied).irreversible(Duration.ofHours(12)))
                .task(Task.of("caught up with blue", ctx -> new WriteSwitch(bg, Side.GREEN).caughtUp(ctx, Duration.ofMinutes(10))))
                .task(Task.of("materialized views populated on green, as blue has them (REFRESH)", this::materializedViews))
                .task(Task.of("statistics (vacuumdb --analyze-only)", this::analyze))
                .task(Task.of("ready", this::ready));
        Play report = Play.of("report", blueHost).task(Task.of("report", bg::report));
        return List.of(where, greenCluster, blue, follow, report);
    }

    /**
     * Green's settings for {@code databases} replicated databases: an apply worker per database
     * (one subscription each) and table sync workers beside them, all from
     * max_logical_replication_workers, itself taken from max_worker_processes (with the launcher
     * and PostgreSQL's 8 for parallel query and extensions); a slot and a sender per database for
     * the way back (blue subscribes to green). PostgreSQL's defaults (4 workers, 8 processes) leave
     * a cluster of 4 databases with no worker to copy a table. Tables copied at once: as many as
     * blue has slots and senders for (1 to 4).
     */
    static String settings(LogicalReadiness blue) {
        return settings(blue.replicatedDatabases(), Math.max(1, blue.tableCopiesAtOnce()));
    }

    static String settings(int databases, int tableCopies) {
        int logical = databases + tableCopies;
        int senders = Math.max(10, databases + 4);
        return "# written by pgplay bluegreen-prepare for " + databases + " database(s)\n"
                + "listen_addresses = '*'\n"
                + "wal_level = logical\n"
                + "max_wal_senders = " + senders + "\n"
                + "max_replication_slots = " + senders + "\n"
                + "max_logical_replication_workers = " + logical + "\n"
                + "max_sync_workers_per_subscription = 2\n"
                + "max_worker_processes = " + (logical + 1 + 8) + "\n";
    }

    // ---------------------------------------------------------------- steps

    TaskResult where(HostContext ctx) {
        BlueGreenStatus st = bg.readStatus(ctx);
        if (st.phase == Phase.SWITCHING || (st.phase == Phase.READY && st.writable == Side.GREEN)) {
            return TaskResult.failed("a switch has happened (" + st.summary() + "); prepare is over. bluegreen-switch finishes a switch, "
                    + "bluegreen-rollback goes back to blue, bluegreen-cleanup ends the upgrade");
        }
        if (st.phase == Phase.NONE || st.phase == Phase.CLEANED) {
            bg.status = new BlueGreenStatus();
            return TaskResult.ok("no blue-green upgrade yet: " + s.title());
        }
        return TaskResult.ok("continuing: " + st.summary());
    }

    TaskResult preflight(HostContext green) {
        HostContext blue = bg.on(green, Side.BLUE);
        Pg b = new Pg(blue, s.blue());
        if (!b.online()) {
            return TaskResult.failed(s.blue().primary() + ": blue " + s.blue().version() + "/" + s.blue().cluster() + " is not running");
        }
        if (b.inRecovery()) {
            return TaskResult.failed(s.blue().primary() + " is in recovery, but the inventory says it is the primary; fix roles.primary");
        }
        LogicalReadiness ready = LogicalReadiness.read(blue, bg.port());
        // what was chosen at an earlier prepare holds (recorded), whether or not the option is given again
        List<String> refusals = new ArrayList<>(ready.refusals(s.identityFull(), bg.copyLargeObjects(), bg.unloggedEmpty()));
        for (String ext : ready.extensions().keySet()) {
            String name = ext.replace("\"", "");
            if (!green.connection().exec(Cmd.of("test", "-e", "/usr/share/postgresql/" + s.nextVersion() + "/extension/" + name + ".control"),
                    ExecOptions.as("root")).ok()) {
                refusals.add("extension " + name + " is not installed for PostgreSQL " + s.nextVersion() + " on " + s.green() + ": install its package there");
            }
        }
        long size = Long.parseLong(Psql.value(blue, bg.port(), "SELECT sum(pg_database_size(oid))::bigint FROM pg_database"));
        String avail = green.connection().exec(Cmd.of("sh", "-c", "df -P -B1 --output=avail /var/lib/postgresql | tail -n 1"), ExecOptions.as("root"))
                .check(green.host().name()).stdout().strip();
        if (avail.matches("\\d+") && Long.parseLong(avail) < size + size / 5) {
            refusals.add(s.green() + ": " + Major.mb(Long.parseLong(avail)) + " free in /var/lib/postgresql, blue holds " + Major.mb(size)
                    + " (20% more is needed for indexes built during the copy and WAL)");
        }
        if (!refusals.isEmpty()) {
            return TaskResult.failed(refusals.size() + " reason(s) not to prepare:\n  - " + String.join("\n  - ", refusals)
                    + "\nnothing was changed");
        }
        bg.notes.addAll(ready.notes(s.identityFull()));
        if (bg.copyLargeObjects() != bg.status.copyLargeObjects || bg.unloggedEmpty() != bg.status.unloggedEmpty) {
            bg.status.copyLargeObjects = bg.copyLargeObjects();
            bg.status.unloggedEmpty = bg.unloggedEmpty();
            if (bg.status.phase != Phase.NONE && !green.checkMode()) {
                bg.saveStatus(green);
            }
        }
        if (ready.largeObjects() > 0) {
            bg.notes.add(ready.largeObjects() + " large object(s): copied at every switch while writes are blocked (copy-large-objects, recorded)");
        }
        return TaskResult.ok(ready.replicatedDatabases() + " database(s), " + Major.mb(size) + ", every table has a replica identity"
                + (s.identityFull() ? " (or gets FULL)" : ""));
    }

    TaskResult cluster(HostContext ctx) throws Exception {
        PgSettings g = s.greenCluster();
        ctx.forget(PgFacts.CLUSTERS);
        List<PgFacts.Cluster> all = ctx.fact(PgFacts.CLUSTERS);
        for (PgFacts.Cluster c : all) {
            if (c.port() == g.port() && !(c.version().equals(g.version()) && c.name().equals(g.cluster()))) {
                return TaskResult.failed(s.green() + ": cluster " + c.version() + "/" + c.name() + " uses port " + g.port()
                        + ", which green must take (clients keep their port when the VIP moves); move or drop it first");
            }
        }
        Optional<PgFacts.Cluster> found = PgCluster.find(ctx, g.version(), g.cluster());
        if (found.isPresent()) {
            Pg pg = new Pg(ctx, g);
            if (!pg.online()) {
                pg.start();
            }
            List<String> dbs = Psql.databases(ctx, g.port(), "NOT datistemplate AND datname <> 'postgres'");
            List<String> foreign = dbs.stream().filter(d -> !bg.status.schemaCopied.contains(d)).toList();
            if (!foreign.isEmpty() && bg.status.phase == Phase.NONE) {
                return TaskResult.failed(s.green() + ": " + g.version() + "/" + g.cluster() + " holds databases "
                        + String.join(", ", foreign.stream().map(Psql::ident).toList()) + " that pgplay did not make; refusing to use it as green");
            }
            return TaskResult.ok(g.version() + "/" + g.cluster() + " on port " + found.get().port() + ", " + found.get().status());
        }
        List<List<String>> locale = Psql.rows(bg.on(ctx, Side.BLUE), bg.port(), "postgres",
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype, current_setting('data_checksums') FROM pg_database WHERE datname = 'template1'");
        List<String> row = locale.get(0);
        List<String> cmd = new ArrayList<>(List.of("pg_createcluster", "-p", String.valueOf(g.port()), "-e", row.get(0), "--lc-collate", row.get(1),
                "--lc-ctype", row.get(2), "--start", g.version(), g.cluster()));
        if ("on".equals(row.get(3))) {
            cmd.addAll(List.of("--", "--data-checksums"));
        }
        return Imperative.of("create " + g.version() + "/" + g.cluster() + " like blue's", List.of(String.join(" ", cmd))).run(ctx, () -> {
            bg.status.phase = Phase.PREPARING;
            bg.saveStatus(ctx);
            Pg.root(ctx, Cmd.of(cmd));
            ctx.forget(PgFacts.CLUSTERS);
            return TaskResult.changed("created " + g.version() + "/" + g.cluster() + " (" + row.get(0) + ", " + row.get(1)
                    + ("on".equals(row.get(3)) ? ", data checksums" : "") + ")", List.of(String.join(" ", cmd)));
        });
    }

    /** pg_hba lines on one side for the other side's replication user (any database: one subscription each) and the clients. */
    List<String> hba(HostContext ctx, Side other) {
        List<String> lines = new ArrayList<>();
        lines.add("host all " + s.blue().replicationUser() + " " + ctx.inventory().host(s.host(other)).address() + "/32 scram-sha-256");
        for (String net : s.blue().clientNetworks()) {
            lines.add("host all all " + net + " scram-sha-256");
        }
        return lines;
    }

    /** The replication user's password for the other side's address, any database, in postgres's .pgpass (0600). */
    TaskResult pgpass(HostContext ctx, Side other) {
        String file = "/var/lib/postgresql/.pgpass";
        if (!ctx.checkMode()) {
            // made by postgres in its own home (a root write there could be led through a link)
            ctx.connection().exec(Cmd.of("sh", "-c", "umask 077 && { [ -e \"$1\" ] || [ -L \"$1\" ] || : > \"$1\"; }", "sh", file),
                    ExecOptions.as("postgres")).check(ctx.host().name() + ": " + file);
        }
        String line = Pg.pgpassAnyDatabase(s.blue(), ctx.inventory().host(s.host(other)).address());
        TaskResult r = ManagedBlock.atTop(file, "bluegreen", List.of(line)).mode("0600").run(ctx);
        // the password is in the block: no diff, no commands shown
        return r instanceof TaskResult.Changed ? TaskResult.changed("password for " + s.host(other) + " set", List.of("update " + file)) : r;
    }

    TaskResult readOnly(HostContext ctx) throws Exception {
        if (bg.readOnly(ctx, Side.GREEN)) {
            return TaskResult.ok("read-only");
        }
        return Imperative.of("make green read-only", List.of("ALTER SYSTEM SET default_transaction_read_only = on")).run(ctx, () -> {
            Psql.run(ctx, bg.port(), "postgres", "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf();");
            return TaskResult.changed("read-only until a switch opens it", List.of("ALTER SYSTEM SET default_transaction_read_only = on"));
        });
    }

    TaskResult identityFull(HostContext blue) throws Exception {
        List<String> sql = new ArrayList<>();
        for (String db : bg.databases(blue, Side.BLUE)) {
            List<List<String>> rows = Psql.rows(blue, bg.port(), db, "SELECT " + Psql.hex("quote_ident(n.nspname) || '.' || quote_ident(c.relname)")
                    + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence = 'p'"
                    + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"
                    + " AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))");
            for (List<String> r : rows) {
                sql.add(db + "\u0000" + Psql.unhex(r.get(0)));
            }
        }
        if (sql.isEmpty()) {
            return TaskResult.ok("every table has a key");
        }
        List<String> shown = sql.stream().map(x -> "ALTER TABLE " + x.substring(x.indexOf('\u0000') + 1) + " REPLICA IDENTITY FULL").toList();
        return Imperative.of("set REPLICA IDENTITY FULL", shown).run(blue, () -> {
            for (String x : sql) {
                String db = x.substring(0, x.indexOf('\u0000'));
                Psql.run(blue, bg.port(), db, "SET pgplay.allow_ddl = on;\nALTER TABLE " + x.substring(x.indexOf('\u0000') + 1) + " REPLICA IDENTITY FULL;\n");
            }
            return TaskResult.changed(sql.size() + " table(s) set to REPLICA IDENTITY FULL", shown);
        });
    }

    TaskResult connectivity(HostContext green) {
        if (green.checkMode()) {
            return TaskResult.skipped("check mode: green's roles are not there yet");
        }
        String blueAddress = green.inventory().host(s.blue().primary()).address();
        Cmd probe = Cmd.of("psql", "-X", "-At", "-d", "host=" + blueAddress + " port=" + bg.port() + " user=" + s.blue().replicationUser()
                + " dbname=postgres connect_timeout=5", "-c", "SELECT 1");
        var r = green.connection().exec(probe, ExecOptions.as("postgres").timeout(Duration.ofSeconds(20)));
        if (!r.ok()) {
            return TaskResult.failed(s.green() + " cannot reach blue at " + blueAddress + ":" + bg.port() + " as " + s.blue().replicationUser() + ": "
                    + r.stderr().strip() + " (pg_hba on blue, the firewall, listen_addresses)");
        }
        return TaskResult.ok(s.green() + " -> " + s.blue().primary() + " ok (the way back is checked once green has the role)");
    }

    /** Role names of a side (hex on the wire: a name from the server is never trusted). */
    private List<String> roles(HostContext ctx) {
        return Psql.rows(ctx, bg.port(), "postgres", "SELECT " + Psql.hex("rolname") + " FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1")
                .stream().map(r -> Psql.unhex(r.get(0))).toList();
    }

    TaskResult globals(HostContext green) throws Exception {
        List<String> missing = new ArrayList<>(roles(bg.on(green, Side.BLUE)));
        missing.removeAll(roles(green));
        if (missing.isEmpty()) {
            return TaskResult.ok("every role of blue is on green (a role changed since is compared at the switch)");
        }
        return Imperative.of("copy roles from blue", List.of("pg_dumpall --globals-only | psql")).run(green, () -> {
            SchemaCopy.globals(bg.on(green, Side.BLUE), bg.port(), "/usr/lib/postgresql/" + s.nextVersion() + "/bin", green, bg.port());
            HostContext blue = bg.on(green, Side.BLUE);
            String greenAddress = green.inventory().host(s.green()).address();
            var r = blue.connection().exec(Cmd.of("psql", "-X", "-At", "-d", "host=" + greenAddress + " port=" + bg.port() + " user="
                    + s.blue().replicationUser() + " dbname=postgres connect_timeout=5", "-c", "SELECT 1"),
                    ExecOptions.as("postgres").timeout(Duration.ofSeconds(20)));
            if (!r.ok()) {
                return TaskResult.failed("blue cannot reach green at " + greenAddress + ":" + bg.port() + " (the way back): " + r.stderr().strip());
            }
            return TaskResult.changed("roles copied; " + s.blue().primary() + " -> " + s.green() + " ok", List.of("pg_dumpall --globals-only | psql"));
        });
    }

    TaskResult schemas(HostContext green) throws Exception {
        HostContext blue = bg.on(green, Side.BLUE);
        List<String> dbs = bg.databases(blue, Side.BLUE);
        List<String> todo = dbs.stream().filter(d -> !bg.status.schemaCopied.contains(d)).toList();
        if (todo.isEmpty()) {
            return TaskResult.ok(dbs.size() + " database(s) copied earlier");
        }
        List<String> shown = todo.stream().map(d -> "pg_dump --schema-only " + Psql.ident(d) + " | psql").toList();
        return Imperative.of("copy the schemas of " + todo.size() + " database(s)", shown).run(green, () -> {
            List<String> existing = Psql.databases(green, bg.port(), "NOT datistemplate");
            for (String db : todo) {
                boolean postgres = db.equals("postgres");
                if (!postgres && existing.contains(db)) {
                    // made by a cut run of this prepare: never written, made again
                    Psql.run(green, bg.port(), "postgres", Psql.dropDatabase(db, s.nextVersion()));
                }
                green.progress("schema of " + Psql.ident(db));
                SchemaCopy.schema(blue, bg.port(), db, "/usr/lib/postgresql/" + s.nextVersion() + "/bin", green, bg.port(), !postgres);
                bg.status.schemaCopied.add(db);
                bg.status.phase = Phase.PREPARING;
                bg.saveStatus(green);
            }
            return TaskResult.changed("schemas of " + todo.size() + " database(s) copied", shown);
        });
    }

    TaskResult copied(HostContext green) throws Exception {
        if (green.checkMode()) {
            return TaskResult.skipped("check mode: nothing is copied");
        }
        long t0 = System.nanoTime();
        long deadline = t0 + Duration.ofHours(12).toNanos();
        List<String> dbs = Psql.databases(green, bg.port(), "datallowconn AND NOT datistemplate");
        CopyWatch watch = null;
        while (true) {
            List<String> left = new ArrayList<>();
            for (String db : dbs) {
                Subscription.copying(green, bg.port(), db).forEach(t -> left.add(Psql.ident(db) + "." + t));
            }
            if (left.isEmpty()) {
                return TaskResult.ok("every table copied (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
            }
            if (System.nanoTime() > deadline) {
                return TaskResult.failed("the initial copy did not finish within 12 h: " + left.size() + " table(s) left, e.g. " + left.get(0));
            }
            int syncing = Integer.parseInt(Psql.value(green, bg.port(), "SELECT count(*) FROM pg_stat_subscription WHERE relid IS NOT NULL"));
            long now = System.nanoTime();
            watch = watch == null ? CopyWatch.start(left.size(), now, COPY_STALL) : watch.see(left.size(), syncing, now);
            if (watch.stalled(now)) {
                return TaskResult.failed("the initial copy made no progress for " + COPY_STALL.toMinutes() + " min (no table sync worker ran, "
                        + left.size() + " table(s) left, e.g. " + left.get(0) + "); green's log says: " + lastComplaints(green)
                        + ". Blue takes writes as before; fix the cause (worker settings in " + s.greenCluster().confDir()
                        + "/conf.d/pgplay-bluegreen.conf, restart green) and run bluegreen-prepare again");
            }
            green.progress("initial copy: " + left.size() + " table(s) left");
            Thread.sleep(500);
        }
    }

    /** How long the initial copy may go without a table sync worker and without a table done. */
    static final Duration COPY_STALL = Duration.ofMinutes(3);

    /** The last warnings and errors of green's server log, as the server wrote them. */
    private String lastComplaints(HostContext green) {
        String log = new Pg(green, s.greenCluster()).logFile();
        var r = green.connection().exec(Cmd.of("sh", "-c", "tail -n 2000 \"$1\" | grep -E 'WARNING|ERROR|FATAL' | tail -n 3", "sh", log),
                ExecOptions.as("root").timeout(Duration.ofSeconds(30)));
        String text = r.stdout().strip();
        return text.isEmpty() ? "nothing (" + log + ")" : text.replace('\n', ' ');
    }

    /** Materialized views come over empty (schema only); green's are refreshed as blue has them populated. */
    TaskResult materializedViews(HostContext green) throws Exception {
        if (green.checkMode()) {
            return TaskResult.skipped("check mode: populated once the rows are copied");
        }
        HostContext blue = bg.on(green, Side.BLUE);
        List<String> dbs = bg.databases(blue, Side.BLUE);
        Map<String, List<String>> wanted = MaterializedViews.populated(blue, bg.port(), dbs);
        Map<String, List<String>> have = MaterializedViews.populated(green, bg.port(), dbs);
        Map<String, List<String>> todo = new LinkedHashMap<>();
        wanted.forEach((db, views) -> {
            List<String> missing = views.stream().filter(v -> !have.getOrDefault(db, List.of()).contains(v)).toList();
            if (!missing.isEmpty()) {
                todo.put(db, missing);
            }
        });
        if (todo.isEmpty()) {
            int n = wanted.values().stream().mapToInt(List::size).sum();
            return TaskResult.ok(n == 0 ? "none on blue" : n + " populated, as on blue");
        }
        List<String> shown = new ArrayList<>();
        todo.forEach((db, views) -> views.forEach(v -> shown.add("REFRESH MATERIALIZED VIEW " + v + " (database " + Psql.ident(db) + ")")));
        return Imperative.of("populate " + shown.size() + " materialized view(s) on green", shown).run(green, () -> {
            long t0 = System.nanoTime();
            MaterializedViews.refresh(green, bg.port(), todo, Duration.ofHours(1));
            return TaskResult.changed(shown.size() + " materialized view(s) populated in " + (System.nanoTime() - t0) / 1_000_000 + " ms", shown);
        });
    }

    TaskResult analyze(HostContext green) throws Exception {
        List<String> cmd = List.of("env", "PGOPTIONS=-c default_transaction_read_only=off", "/usr/lib/postgresql/" + s.nextVersion() + "/bin/vacuumdb",
                "-p", String.valueOf(bg.port()), "--all", "--analyze-only");
        if (bg.status.phase == Phase.READY) {
            return TaskResult.ok("done earlier");
        }
        return Imperative.of("ANALYZE every database on green", List.of(String.join(" ", cmd.subList(2, cmd.size())))).run(green, () -> {
            long t0 = System.nanoTime();
            Major.postgres(green, Cmd.of(cmd)).check(green.host().name());
            return TaskResult.changed("statistics in " + (System.nanoTime() - t0) / 1_000_000 + " ms", List.of(String.join(" ", cmd.subList(2, cmd.size()))));
        });
    }

    TaskResult ready(HostContext green) throws Exception {
        if (bg.status.phase == Phase.READY) {
            return TaskResult.ok("ready: " + bg.status.summary());
        }
        return Imperative.of("record: green follows blue", List.of("status: ready")).run(green, () -> {
            bg.status.phase = Phase.READY;
            bg.status.writable = Side.BLUE;
            bg.status.target = null;
            bg.saveStatus(green);
            return TaskResult.changed("green follows blue; writes stay on blue until bluegreen-switch", List.of("status: ready"));
        });
    }
}
