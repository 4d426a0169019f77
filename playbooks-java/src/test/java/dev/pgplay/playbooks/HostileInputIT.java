package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.postgres.Psql;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile input on the lab: database and role names that are connection strings or SQL, a
 * become password on a NOPASSWD sudo host, a data directory with a space, an unusable
 * known_hosts, a duplicated host, an include url and a bad address. Every run does the right
 * thing or refuses with a clear message; nothing reaches the listener a hostile database name
 * points at; no secret appears in any output, event, log, status file or server log.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");

    static final String TRAP = "host=127.0.0.1 port=55499 user=replicator dbname=x";
    static final List<String> HOSTILE = List.of(TRAP, "my db", "a'b", "x\"; DROP");
    static final String BECOME_SECRET = "Become-Secret-" + System.nanoTime();
    static PgLab pg;
    static String replicationPassword;
    static final List<String> outputs = new ArrayList<>();

    @BeforeAll
    static void cluster() throws Exception {
        Path become = LAB.lab().dir().resolve("become-password");
        Files.writeString(become, BECOME_SECRET + "\n");
        pg = PgLab.onMajor13(LAB.lab(), "defaults.become { method = sudo, user = root, password-file = \"" + become + "\" }");
        replicationPassword = Files.readString(LAB.lab().dir().resolve("replication-password")).strip();
        LabHost db1 = pg.host("db1");
        // a listener where the trap database name points: it records whatever connects
        db1.docker("sh", "-c", "setsid python3 -c " + Psql.literal(LISTENER).replace("''", "'\\''") + " >/dev/null 2>&1 < /dev/null &");
        PgLab.sql(db1, "postgres", "CREATE ROLE \"evil \"\"role\" LOGIN CREATEDB PASSWORD 'evil-pw'");
        for (String db : HOSTILE) {
            PgLab.sql(db1, "postgres", "CREATE DATABASE " + Psql.ident(db) + " OWNER \"evil \"\"role\"");
            sql(db1, 5432, db, "CREATE TABLE t (v text); INSERT INTO t VALUES (" + Psql.literal("carried " + db) + ")");
        }
        // names that would split psql's rows: a newline and the field separator
        sql(db1, 5432, "my db", "CREATE TABLE \"line\nbreak\u001f\" (v int); INSERT INTO \"line\nbreak\u001f\" VALUES (1)");
        PgLab.sql(db1, "postgres", "CREATE ROLE \"new\nline\" NOLOGIN");
        waitFor(() -> db1.dockerResult("sh", "-c", "ss -ltn | grep -q ':55499 '").getExitCode() == 0);
    }

    static final String LISTENER = String.join("\n",
            "import socket, signal",
            "signal.alarm(1200)",
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 55499)); s.listen(5)",
            "while True:",
            "    c, _ = s.accept(); c.settimeout(3)",
            "    data = b''",
            "    try:",
            "        data = c.recv(65536)",
            "    except Exception:",
            "        pass",
            "    open('/tmp/listener.log', 'ab').write(b'connection: ' + data + b'\\n'); c.close()");

    /** SQL in a database whose name is hostile (test set-up and checks, from outside the code under test). */
    static String sql(LabHost h, int port, String db, String sql) {
        return h.docker("su", "postgres", "-c", "psql -X -q -t -A -v ON_ERROR_STOP=1 -p \"$1\" -d \"$2\" -c \"$3\"", "sh",
                String.valueOf(port), Psql.conninfo(db), sql).strip();
    }

    static PgLab.Run run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--events");
        all.add(LAB.lab().dir().resolve("events-" + outputs.size() + ".jsonl").toString());
        PgLab.Run r = pg.playbook(all.toArray(String[]::new));
        outputs.add(r.out());
        return r;
    }

    static void assertNothingReachedTheListener(String after) {
        String log = pg.host("db1").docker("sh", "-c", "cat /tmp/listener.log 2>/dev/null || true");
        assertEquals("", log, after + ": something connected where a database name pointed");
    }

    /** An upgrade run that ends on 15 with every hostile database and its row, and nothing at the listener. */
    static PgLab.Run upgradeCarriesEveryDatabase(String... args) {
        PgLab.Run r = run(args);
        assertEquals(0, r.code(), r.out());
        LabHost db1 = pg.host("db1");
        for (String db : HOSTILE) {
            assertEquals("carried " + db, sql(db1, 5432, db, "SELECT v FROM t"), args[0] + ": database " + db);
        }
        assertEquals("15", PgLab.serverMajor(db1), args[0]);
        assertNothingReachedTheListener(args[0]);
        return r;
    }

    @Test
    @Order(0)
    void inventoryProblemsAreRefusedBeforeAnyHostIsContacted() throws Exception {
        String addr1 = pg.host("db1").address();
        String[][] cases = {
                {"hosts {\n  db1 { address = \"" + addr1 + "\" }\n  db1 { address = \"" + pg.host("db2").address() + "\" }\n}\n", "hosts.conf:2", "host defined twice"},
                {"include url(\"http://127.0.0.1:9/more.conf\")\nhosts { db1 { address = \"" + addr1 + "\" } }\n", "hosts.conf:1", "only files can be included"},
                {"hosts { db1 { address = \"" + addr1 + "\\nhost all all 0.0.0.0/0 trust\" } }\n", "hosts.conf:1", "not a host name or IP address"},
        };
        for (String[] c : cases) {
            Path inv = LAB.lab().dir().resolve("hosts.conf");
            Files.writeString(inv, c[0]);
            CliRun r = CliRun.of("ping", inv.toString(), "--log-dir", LAB.lab().dir().resolve("logs").toString());
            assertEquals(1, r.code(), r.out() + r.err());
            assertTrue(r.err().contains(c[1]) && r.err().contains(c[2]) && r.err().contains("nothing was run"), r.err());
            assertEquals("", r.out(), "nothing ran");
        }
        for (LabHost h : LAB.lab().hosts()) {
            assertFalse(h.dockerResult("test", "-e", "/var/lib/pgplay/run.lock").getExitCode() == 0, h.name());
        }
    }

    @Test
    @Order(1)
    void anUnusableKnownHostsRefusesToConnect() throws Exception {
        Path dir = Files.createDirectories(LAB.lab().dir().resolve("known_hosts.d"));
        Path inv = LAB.lab().writeInventory("kh.conf", "defaults { known-hosts = \"" + dir + "\", host-key-checking = accept-new }");
        CliRun r = CliRun.of("ping", inv.toString(), "--log-dir", LAB.lab().dir().resolve("logs").toString());
        assertEquals(4, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("is not a regular file; refusing to connect"), r.out());
    }

    @Test
    @Order(2)
    void clusterSetupAgainWithHostileNamesAndAScopedPgpass() {
        PgLab.Run r = run("cluster-setup");
        assertEquals(0, r.code(), r.out());
        for (LabHost h : LAB.lab().hosts()) {
            String pgpass = h.docker("cat", "/var/lib/postgresql/.pgpass");
            assertFalse(pgpass.contains("*"), h.name() + ": no wildcard in .pgpass: " + pgpass.replace(replicationPassword, "PW"));
            for (String line : pgpass.strip().split("\n")) {
                assertTrue(line.startsWith(pg.host("db1").address() + ":5432:") || line.startsWith(pg.host("db2").address() + ":5432:"),
                        line.replace(replicationPassword, "PW"));
            }
        }
        assertNothingReachedTheListener("cluster-setup");
    }

    @Test
    @Order(3)
    void majorUpgradeCheckReadsHostileNamesSafely() {
        PgLab.Run r = run("major-upgrade", "--check", "-e", "new-version=15");
        assertEquals(0, r.code(), r.out());
        assertNothingReachedTheListener("major-upgrade --check");
    }

    @Test
    @Order(4)
    void majorDumpCarriesEveryHostileDatabase() {
        PgLab.Run r = upgradeCarriesEveryDatabase("major-dump", "-e", "new-version=15", "-e", "parallel=true");
        assertTrue(r.out().contains("role \"evil \"\"role\""), r.out());
        String hexName = "my db: hex:" + java.util.HexFormat.of().formatHex("table public.\"line\nbreak\u001f\"".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertTrue(r.out().matches("(?s).*" + hexName + "\\s+1 rows, checksum \\w+\\s+1 rows, checksum \\w+\\s+same.*"), r.out());
        assertTrue(r.out().matches("(?s).*hex:" + java.util.HexFormat.of().formatHex("role \"new\nline\"".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                + "\\s+member of: -\\s+member of: -\\s+same.*"), r.out());
        assertFalse(r.out().matches("(?s).*password [0-9a-f]{8}.*"), "no password fingerprint is printed");
        PgLab.Run back = run("major-rollback", "-e", "accept-data-loss=true");
        assertEquals(0, back.code(), back.out());
        assertEquals("13", PgLab.serverMajor(pg.host("db1")));
    }

    @Test
    @Order(5)
    void majorUpgradeCarriesEveryHostileDatabase() {
        upgradeCarriesEveryDatabase("major-upgrade", "-e", "new-version=15");
        assertEquals("streaming " + pg.host("db1").address(), PgLab.receiver(pg.host("db2")));
    }

    @Test
    @Order(6)
    void aDataDirectoryWithASpaceIsClonedWhereItIs() {
        for (LabHost h : LAB.lab().hosts()) {
            h.docker("sh", "-c", "mkdir -p '/srv/pg data' && chown postgres: '/srv/pg data' "
                    + "&& pg_createcluster 15 spaced -d '/srv/pg data/spaced' -p 5441 --start -- --data-checksums >/dev/null");
        }
        sql(pg.host("db1"), 5441, "postgres", "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('from db1')");
        PgLab.Run r = run("cluster-setup", "-e", "pg-version=15", "-e", "pg-cluster=spaced", "-e", "pg-port=5441");
        assertEquals(0, r.code(), r.out());
        LabHost db2 = pg.host("db2");
        waitFor(() -> sql(db2, 5441, "postgres", "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'").equals("1"));
        assertEquals("from db1", sql(db2, 5441, "postgres", "SELECT v FROM marker"));
        assertEquals("0", db2.dockerResult("test", "-e", "/srv/pg data/spaced/standby.signal").getExitCode() + "");
        assertEquals("", db2.docker("sh", "-c", "ls -d /srv/pg /srv/data /srv/pg\\ data/spaced.pgplay-old 2>/dev/null || true"),
                "nothing made or moved at a split path");
    }

    @Test
    @Order(7)
    void noSecretInAnyArtifact() throws Exception {
        List<String> artifacts = new ArrayList<>(outputs);
        try (Stream<Path> files = Files.walk(LAB.lab().dir())) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".log") || f.toString().endsWith(".jsonl")).toList()) {
                artifacts.add(f + ": " + Files.readString(f));
                if (f.toString().endsWith(".log") || f.toString().endsWith(".jsonl")) {
                    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
                }
            }
        }
        for (LabHost h : LAB.lab().hosts()) {
            artifacts.add(h.name() + " status and logs: " + h.docker("sh", "-c", "cat /var/lib/pgplay/*.status /var/log/pgplay/* "
                    + "/var/log/postgresql/* 2>/dev/null; journalctl --no-pager -q 2>/dev/null | tail -n 2000; true"));
        }
        assertTrue(artifacts.size() > 6);
        for (String a : artifacts) {
            assertFalse(a.contains(BECOME_SECRET), "the become password appears in: " + a.substring(0, Math.min(200, a.length())));
            assertFalse(a.contains(replicationPassword), "the replication password appears in: " + a.substring(0, Math.min(200, a.length())));
        }
    }

    static void waitFor(java.util.function.BooleanSupplier ok) {
        MajorUpgradeIT.waitFor(ok);
    }
}
