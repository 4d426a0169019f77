package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.HostStats;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.Secret;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The PostgreSQL module on a real host: the cluster operation through systemd, JDBC through a tunnel. */
class PostgresIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("h1");

    private RunResult run(boolean check, Play play) {
        Inventory inventory = Inventory.load(LAB.lab().writeInventory("hosts.conf", ""));
        return Runner.builder(inventory).checkMode(check).build().run("test", List.of(play));
    }

    /** Tasks changed on h1; fails the test when any failed. */
    private int changed(boolean check, Play play) {
        HostStats s = run(check, play).stats().get("h1");
        assertEquals(0, s.failed() + s.unreachable(), s.toString());
        return s.changed();
    }

    private static Play cluster(PgCluster op) {
        return Play.of("cluster", "h1").task(Task.of("cluster", op));
    }

    private static String status(LabHost h) {
        return h.docker("sh", "-c", "pg_lsclusters --no-header 15 main | awk '{print $4}'").trim();
    }

    @Test
    void clusterStoppedAndStartedOnlyWhenNeededAndNotInCheckMode() {
        LabHost h1 = LAB.host("h1");
        assertEquals("online", status(h1));
        assertEquals(1, changed(true, cluster(PgCluster.stopped("15", "main"))));
        assertEquals("online", status(h1), "check mode must not stop the cluster");
        assertEquals(1, changed(false, cluster(PgCluster.stopped("15", "main"))));
        assertEquals("down", status(h1));
        assertEquals("inactive", h1.docker("sh", "-c", "systemctl is-active postgresql@15-main || true").trim(),
                "stopped through its systemd unit, so systemd does not start it behind our back");
        assertEquals(0, changed(false, cluster(PgCluster.stopped("15", "main"))));
        assertEquals(1, changed(false, cluster(PgCluster.started("15", "main"))));
        assertEquals("online", status(h1));
    }

    private static org.testcontainers.containers.Container.ExecResult sql(String db, String sql) {
        return LAB.host("h1").dockerResult("runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql);
    }

    @Test
    void readinessForLogicalReplicationAndTheDdlGuard() {
        String db = "app'x \"db\"";
        assertEquals(0, sql("postgres", "CREATE DATABASE " + Psql.ident(db)).getExitCode());
        try {
            assertEquals(0, sql(db, "CREATE TABLE nokey (a int); CREATE TABLE withkey (id int PRIMARY KEY); "
                    + "CREATE UNLOGGED TABLE cache (id int PRIMARY KEY); SELECT lo_create(0); CREATE EXTENSION pg_trgm").getExitCode());
            AtomicReference<LogicalReadiness> read = new AtomicReference<>();
            assertEquals(0, changed(false, Play.of("read", "h1").task(Task.of("readiness", ctx -> {
                read.set(LogicalReadiness.read(ctx, 5432));
                return TaskResult.ok("read");
            }))));
            LogicalReadiness.Database d = read.get().databases().stream().filter(x -> x.name().equals(db)).findFirst().orElseThrow();
            assertEquals(List.of("public.nokey"), d.withoutIdentity());
            assertEquals(List.of("public.cache"), d.unlogged());
            assertEquals(1, d.largeObjects());
            assertEquals(java.util.Set.of("pg_trgm"), d.extensions().keySet());
            List<String> refused = read.get().refusals(false, false, false);
            assertTrue(refused.stream().anyMatch(r -> r.contains("public.nokey") && r.contains(Psql.ident(db))), refused.toString());
            assertTrue(refused.stream().anyMatch(r -> r.contains("1 large object(s)")), refused.toString());

            Play guard = Play.of("guard", "h1").task(Task.of("guard", DdlGuard.on(5432)));
            assertEquals(1, changed(true, guard));
            assertEquals(0, sql(db, "CREATE TABLE free_in_check_mode (id int)").getExitCode(), "check mode installs nothing");
            assertEquals(1, changed(false, guard));
            assertEquals(0, changed(false, guard), "a second run finds the guard in place");
            org.testcontainers.containers.Container.ExecResult refusedDdl = sql(db, "ALTER TABLE withkey ADD COLUMN b int");
            assertNotEquals(0, refusedDdl.getExitCode());
            assertTrue(refusedDdl.getStderr().contains("pgplay: ALTER TABLE refused") && refusedDdl.getStderr().contains("SET pgplay.allow_ddl = on"),
                    refusedDdl.getStderr());
            assertNotEquals(0, sql("postgres", "CREATE TABLE t (id int)").getExitCode(), "every database is guarded");
            assertEquals(0, sql(db, "SET pgplay.allow_ddl = on; ALTER TABLE withkey ADD COLUMN b int").getExitCode(), "the documented way past it");
            assertEquals(0, sql(db, "INSERT INTO withkey VALUES (1, 1)").getExitCode(), "rows are not DDL");

            assertEquals(1, changed(false, Play.of("unguard", "h1").task(Task.of("unguard", DdlGuard.off(5432)))));
            assertEquals(0, sql(db, "ALTER TABLE withkey ADD COLUMN c int").getExitCode());
            assertEquals("0", LAB.host("h1").docker("runuser", "-u", "postgres", "--", "psql", "-XAtd", db, "-c",
                    "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgplay'").trim(), "its schema is gone with it");
        } finally {
            sql("postgres", "DROP DATABASE IF EXISTS " + Psql.ident(db));
        }
    }

    @Test
    void sequencesCarriedExactlySoNoValueIsHandedOutTwice() {
        String from = "seq from";
        String to = "seq'to";
        for (String db : List.of(from, to)) {
            assertEquals(0, sql("postgres", "CREATE DATABASE " + Psql.ident(db)).getExitCode());
            assertEquals(0, sql(db, "CREATE SEQUENCE cached CACHE 10; CREATE SEQUENCE unused; CREATE SEQUENCE \"We ird\" INCREMENT -1 START -1").getExitCode());
        }
        try {
            // one session takes two values of ten it caches: the sequence itself says ten are gone
            assertEquals(0, sql(from, "SELECT nextval('cached'), nextval('cached'), nextval('\"We ird\"')").getExitCode());
            AtomicReference<List<Sequences.Position>> read = new AtomicReference<>();
            assertEquals(0, changed(false, Play.of("read", "h1").task(Task.of("read", ctx -> {
                read.set(Sequences.read(ctx, 5432, from));
                return TaskResult.ok("read");
            }))));
            assertEquals(List.of(new Sequences.Position("public.\"We ird\"", -1, true), new Sequences.Position("public.cached", 10, true),
                    new Sequences.Position("public.unused", 1, false)), read.get());
            assertEquals(0, sql(to, Sequences.setSql(read.get())).getExitCode());
            assertEquals("11|-2|1", LAB.host("h1").docker("runuser", "-u", "postgres", "--", "psql", "-XAtd", to, "-c",
                    "SELECT nextval('cached') || '|' || nextval('\"We ird\"') || '|' || nextval('unused')").trim());
        } finally {
            for (String db : List.of(from, to)) {
                sql("postgres", "DROP DATABASE IF EXISTS " + Psql.ident(db));
            }
        }
    }

    @Test
    void aKeptSessionRunsOneScriptAcrossDatabasesInOneRequest() {
        String one = "kept'one";
        String two = "kept \\two";
        for (String db : List.of(one, two)) {
            assertEquals(0, sql("postgres", "CREATE DATABASE " + Psql.ident(db)).getExitCode());
        }
        try {
            AtomicReference<KeptPsql.Script> script = new AtomicReference<>();
            AtomicReference<String> after = new AtomicReference<>();
            AtomicReference<String> pid = new AtomicReference<>();
            assertEquals(0, changed(false, Play.of("script", "h1").task(Task.of("script", ctx -> {
                try (KeptPsql k = KeptPsql.open(ctx, 5432, "postgres", "SET application_name = 'kept';\n")) {
                    pid.set(k.pid());
                    KeptPsql.Script s = k.script(List.of(new KeptPsql.Part(one, "SELECT current_database()"),
                            new KeptPsql.Part(one, "SELECT 1 UNION ALL SELECT 2"), new KeptPsql.Part(two, ""),
                            new KeptPsql.Part(two, "SELECT current_database(), current_setting('application_name')")), "SET application_name = 'kept';\n",
                            java.time.Duration.ofSeconds(30));
                    script.set(s);
                    after.set(s.session().value("SELECT current_database()"));
                }
                return TaskResult.ok("ran");
            }))));
            KeptPsql.Script s = script.get();
            assertEquals(List.of(List.of(List.of(one)), List.of(List.of("1"), List.of("2")), List.of(), List.of(List.of(two, "kept"))), s.rows(),
                    "the rows of each part, in order, the prelude run in each new database");
            assertEquals(two, s.session().database());
            assertEquals(two, after.get(), "the session goes on in the last part's database");
            assertNotEquals(pid.get(), s.session().pid(), "a new server process after \\connect");
            RunResult failed = run(false, Play.of("script", "h1").task(Task.of("script", ctx -> {
                try (KeptPsql k = KeptPsql.open(ctx, 5432, "postgres", "")) {
                    k.script(List.of(new KeptPsql.Part(one, "SELECT 1/0")), "", java.time.Duration.ofSeconds(30));
                }
                return TaskResult.ok("no error?");
            })));
            assertEquals(1, failed.stats().get("h1").failed(), "an error in a part stops the script and is reported");
        } finally {
            for (String db : List.of(one, two)) {
                sql("postgres", "DROP DATABASE IF EXISTS " + Psql.ident(db));
            }
        }
    }

    private static org.testcontainers.containers.Container.ExecResult sql13(String db, String sql) {
        return LAB.host("h1").dockerResult("runuser", "-u", "postgres", "--", "psql", "-X", "-p", "5433", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql);
    }

    private static String value(int port, String db, String sql) {
        return LAB.host("h1").docker("runuser", "-u", "postgres", "--", "psql", "-XAt", "-p", String.valueOf(port), "-d", db, "-c", sql).trim();
    }

    private static void await(String what, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after 60 s waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    @Test
    void logicalReplicationFromThe13ClusterToThe15OneAndBackToNothing() throws Exception {
        LabHost h1 = LAB.host("h1");
        h1.docker("pg_conftool", "13", "main", "set", "wal_level", "logical");
        h1.docker("pg_ctlcluster", "13", "main", "restart");
        String db = "shop 'x'";
        try {
            assertEquals(0, sql13("postgres", "CREATE DATABASE " + Psql.ident(db)).getExitCode());
            assertEquals(0, sql13("postgres", "CREATE ROLE \"app user\" LOGIN PASSWORD 'app-pw'").getExitCode());
            assertEquals(0, sql13(db, "CREATE TABLE items (id serial PRIMARY KEY, name text); GRANT SELECT ON items TO \"app user\";"
                    + " INSERT INTO items (name) SELECT 'n' || g FROM generate_series(1, 100) g").getExitCode());
            // the order of a prepare: the guard first, then roles and schema (the copied guard lifted on the new side)
            assertEquals(1, changed(false, Play.of("guard", "h1").task(Task.of("guard", DdlGuard.on(5433)))));
            assertEquals(0, changed(false, Play.of("copy", "h1").task(Task.of("roles and schema", ctx -> {
                SchemaCopy.globals(ctx, 5433, "/usr/lib/postgresql/15/bin", ctx, 5432);
                SchemaCopy.schema(ctx, 5433, db, "/usr/lib/postgresql/15/bin", ctx, 5432, true);
                return TaskResult.ok("copied");
            }))));
            assertEquals(value(5433, "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = 'app user'"),
                    value(5432, "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = 'app user'"), "the role with its verifier");
            assertEquals("0|true", value(5432, db, "SELECT count(*) || '|' || has_table_privilege('app user', 'items', 'SELECT') FROM items"),
                    "the schema and its grants, no rows");
            assertEquals(1, changed(false, Play.of("unguard green", "h1").task(Task.of("unguard", DdlGuard.off(5432)))));
            assertEquals(0, sql(db, "CREATE TABLE green_only (id int)").getExitCode(), "the new side takes DDL");
            assertNotEquals(0, sql13(db, "CREATE TABLE blue_only (id int)").getExitCode(), "the old side does not");

            // the subscription connects as a replication role over TCP, its password in postgres's .pgpass, reading through grants
            h1.docker("sh", "-c", "umask 077; printf '127.0.0.1:5433:*:repl:repl-pw\\n' > /var/lib/postgresql/.pgpass; chown postgres: /var/lib/postgresql/.pgpass");
            Play access = Play.of("access", "h1").task(Task.of("role", ReplicationRole.present(5433, "repl", "repl-pw")))
                    .task(Task.of("grants", LogicalGrants.present(5433, "repl")));
            assertEquals(2, changed(false, access));
            assertEquals(0, changed(false, access), "grants in place: nothing to do");
            Play publish = Play.of("publish", "h1").task(Task.of("publish", Publication.present(5433)));
            assertEquals(1, changed(true, publish));
            assertEquals("0", value(5433, db, "SELECT count(*) FROM pg_publication"), "check mode publishes nothing");
            assertEquals(1, changed(false, publish));
            assertEquals(0, changed(false, publish));
            Play subscribe = Play.of("subscribe", "h1").task(Task.of("subscribe",
                    Subscription.present(5432, List.of(db), "host=127.0.0.1 port=5433 user=repl", true)));
            assertEquals(1, changed(false, subscribe));
            assertEquals(0, changed(false, subscribe));
            await("the initial copy", () -> "100".equals(value(5432, db, "SELECT count(*) FROM items")));
            assertEquals(0, sql13(db, "INSERT INTO items (name) VALUES ('after')").getExitCode());
            await("a row written after the copy", () -> "101".equals(value(5432, db, "SELECT count(*) FROM items")));
            assertEquals(Subscription.slotFor(db), value(5433, "postgres", "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'"));
            // the proof a switch waits for: the slot confirms the publisher's position of after the last write
            long end = Psql.lsn(value(5433, "postgres", "SELECT pg_current_wal_lsn()"));
            await("the slot to confirm " + Psql.lsnText(end), () -> {
                AtomicReference<java.util.Map<String, Long>> confirmed = new AtomicReference<>();
                run(false, Play.of("confirmed", "h1").task(Task.of("confirmed", ctx -> {
                    confirmed.set(Subscription.confirmed(ctx, 5433));
                    return TaskResult.ok("read");
                })));
                return confirmed.get() != null && confirmed.get().keySet().equals(java.util.Set.of(Subscription.slotFor(db)))
                        && confirmed.get().get(Subscription.slotFor(db)) >= end;
            });

            assertEquals(1, changed(false, Play.of("unsubscribe", "h1").task(Task.of("unsubscribe", Subscription.absent(5432, List.of(db))))));
            assertEquals("0", value(5433, "postgres", "SELECT count(*) FROM pg_replication_slots"), "the slot went with the subscription");
            assertEquals(1, changed(false, Play.of("unpublish", "h1").task(Task.of("unpublish", Publication.absent(5433)))));
            assertEquals("0", value(5433, db, "SELECT count(*) FROM pg_publication"));
            assertEquals(1, changed(false, Play.of("unguard", "h1").task(Task.of("unguard", DdlGuard.off(5433)))));
        } finally {
            sql("postgres", "DROP DATABASE IF EXISTS " + Psql.ident(db) + " WITH (FORCE)");
            h1.dockerResult("rm", "-f", "/var/lib/postgresql/.pgpass");
            h1.dockerResult("pg_ctlcluster", "13", "main", "stop");
            h1.dockerResult("pg_conftool", "13", "main", "remove", "wal_level");
        }
    }

    @Test
    void sqlThroughAJdbcTunnelToLoopbackOnly() {
        LAB.host("h1").docker("su", "postgres", "-c", "psql -c \"ALTER ROLE postgres PASSWORD 'jdbc-test'\"");
        AtomicReference<List<List<String>>> rows = new AtomicReference<>();
        Play play = Play.of("jdbc", "h1").task(Task.of("query", ctx -> {
            rows.set(Jdbc.query(ctx, 5432, "postgres", "postgres", Secret.of("jdbc-test", "test"),
                    "SELECT inet_server_addr()::text, current_setting('listen_addresses')"));
            return TaskResult.ok("queried");
        }));
        assertEquals(0, changed(false, play));
        assertEquals(List.of(List.of("127.0.0.1/32", "localhost")), rows.get());
    }

    /** A client over TCP as {@code watcher} (password w), held open for a minute with an application name; the exec returns at once. */
    private static void watcherSession(LabHost h) {
        h.docker("sh", "-c", "PGPASSWORD=w PGAPPNAME=pgwatch nohup psql -X -h 127.0.0.1 -U watcher -d postgres -c 'SELECT pg_sleep(60)' "
                + ">/dev/null 2>&1 &");
    }

    private static String watchers() {
        return LAB.host("h1").docker("runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-c",
                "SELECT count(*) FROM pg_stat_activity WHERE usename = 'watcher'").strip();
    }

    @Test
    void theDoorKeepsEveryoneButPostgresOutUntilOpened() throws Exception {
        LabHost h1 = LAB.host("h1");
        String hba = "/etc/postgresql/15/main/pg_hba.conf";
        String before = h1.docker("cat", hba);
        assertEquals(0, sql("postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE watcher LOGIN PASSWORD 'w'").getExitCode());
        try {
            watcherSession(h1);
            await("the watcher's session", () -> watchers().equals("1"));
            AtomicReference<TaskResult> check = new AtomicReference<>();
            run(true, Play.of("door", "h1").task(Task.of("door", ctx -> {
                check.set(ClusterDoor.close(ctx, 5432, hba));
                return check.get();
            })));
            assertTrue(check.get().message().contains("would") && check.get().message().contains("watcher@127.0.0.1 on postgres (pgwatch)"),
                    check.get().message());
            assertEquals(before, h1.docker("cat", hba), "check mode changes nothing");
            assertTrue(watchers().equals("1"), "check mode ends nothing");

            AtomicReference<TaskResult> closed = new AtomicReference<>();
            assertEquals(1, changed(false, Play.of("door", "h1").task(Task.of("door", ctx -> {
                closed.set(ClusterDoor.close(ctx, 5432, hba));
                return closed.get();
            }))));
            assertEquals(List.of("watcher@127.0.0.1 on postgres (pgwatch)"), closed.get().data().get(ClusterDoor.ENDED), closed.get().message());
            await("the watcher's session to end", () -> watchers().equals("0"));
            var refused = h1.dockerResult("sh", "-c", "PGPASSWORD=w psql -X -h 127.0.0.1 -U watcher -d postgres -c 'SELECT 1'");
            assertTrue(refused.getExitCode() != 0 && refused.getStderr().contains("pg_hba.conf rejects connection"), refused.getStderr());
            var local = h1.dockerResult("runuser", "-u", "postgres", "--", "psql", "-X", "-U", "watcher", "-d", "postgres", "-c", "SELECT 1");
            assertTrue(local.getExitCode() != 0, "another role on the local socket is refused too");
            assertEquals(0, sql("postgres", "SELECT 1").getExitCode(), "postgres on the local socket gets in");
            assertEquals(0, changed(false, Play.of("door", "h1").task(Task.of("door", ctx -> ClusterDoor.close(ctx, 5432, hba)))),
                    "closed twice: nothing to do");

            assertEquals(1, changed(false, Play.of("door", "h1").task(Task.of("door", ctx -> ClusterDoor.open(ctx, 5432, hba)))));
            assertEquals(before, h1.docker("cat", hba), "opened: the site's own rules, as they were");
            assertEquals(0, h1.dockerResult("sh", "-c", "PGPASSWORD=w psql -X -h 127.0.0.1 -U watcher -d postgres -c 'SELECT 1'").getExitCode());
            assertEquals(0, changed(false, Play.of("door", "h1").task(Task.of("door", ctx -> ClusterDoor.open(ctx, 5432, hba)))));
        } finally {
            h1.dockerResult("sh", "-c", "grep -q 'BEGIN pgplay door' " + hba + " && sed -i '/BEGIN pgplay door/,/END pgplay door/d' " + hba
                    + " && pg_ctlcluster 15 main reload; true");
            sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'watcher'");
            sql("postgres", "DROP ROLE IF EXISTS watcher");
        }
    }

    @Test
    void filesEditedAsRootInPostgresDirectoriesAreNeverReachedThroughALink() {
        LabHost h1 = LAB.host("h1");
        String pgpass = "/var/lib/postgresql/.pgpass-door-test";
        String shadow = h1.docker("sh", "-c", "stat -c '%a %U' /etc/shadow; md5sum /etc/shadow");
        // what a local postgres user can do: a link where pgplay writes a secret
        h1.docker("runuser", "-u", "postgres", "--", "ln", "-sf", "/etc/shadow", pgpass);
        try {
            AtomicReference<TaskResult> r = new AtomicReference<>();
            run(false, Play.of("pgpass", "h1").task(Task.of("pgpass", ctx -> {
                r.set(dev.pgplay.core.modules.ManagedBlock.atTop(pgpass, "test", List.of("db1:5432:*:rep:secret")).mode("0600").run(ctx));
                return r.get();
            })));
            assertTrue(r.get() instanceof TaskResult.Failed && r.get().message().contains("is a symbolic link, not a regular file"), r.get().message());
            assertEquals(shadow, h1.docker("sh", "-c", "stat -c '%a %U' /etc/shadow; md5sum /etc/shadow"), "/etc/shadow untouched");
            // a loose file of its own is tightened; the secret never sits in a readable file
            h1.docker("sh", "-c", "rm -f " + pgpass + " && runuser -u postgres -- sh -c 'umask 022; echo \"# mine\" > " + pgpass + "'");
            assertEquals(1, changed(false, Play.of("pgpass", "h1").task(Task.of("pgpass",
                    dev.pgplay.core.modules.ManagedBlock.atTop(pgpass, "test", List.of("db1:5432:*:rep:secret")).mode("0600")))));
            assertEquals("600 postgres", h1.docker("stat", "-c", "%a %U", pgpass).strip());
            assertTrue(h1.docker("cat", pgpass).contains("# mine"), "the rest of the file kept");
            // a hard link (made while the name was free) is refused too
            h1.docker("sh", "-c", "rm -f " + pgpass + "; runuser -u postgres -- sh -c 'echo x > /var/lib/postgresql/own && ln /var/lib/postgresql/own " + pgpass + "'");
            assertEquals(1, run(false, Play.of("pgpass", "h1").task(Task.of("pgpass",
                    dev.pgplay.core.modules.ManagedBlock.atTop(pgpass, "test", List.of("x")).mode("0600")))).stats().get("h1").failed());
            assertEquals("x", h1.docker("cat", "/var/lib/postgresql/own").strip());
        } finally {
            h1.docker("rm", "-f", pgpass, "/var/lib/postgresql/own");
        }
    }
}
