package dev.pgplay.core.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The SSH transport against real sshd: keys, host keys, become, quoting, SFTP, tunnels, jump hosts. */
class SshTransportIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.of(Lab.builder().hosts("db1", "db2").behind("db1", "inner"));

    SshTransport ssh;
    Inventory inventory;

    @BeforeEach
    void setUp() {
        inventory = Inventory.load(LAB.lab().writeInventory("hosts.conf",
                "hosts.inner.proxy-jump = \"admin@" + LAB.host("db1").address() + ":22\""));
        ssh = new SshTransport();
    }

    @AfterEach
    void tearDown() {
        ssh.close();
    }

    @Test
    void oneSessionPerHostReusedForEveryCommand() {
        Connection c = ssh.connect(inventory.host("db1"));
        assertSame(c, ssh.connect(inventory.host("db1")));
        for (int i = 0; i < 20; i++) {
            assertEquals(String.valueOf(i), c.exec(Cmd.of("echo", String.valueOf(i))).out());
        }
        ExecResult r = c.exec(Cmd.raw("echo out; echo err >&2; exit 3"));
        assertEquals(3, r.exitStatus());
        assertEquals("out", r.out());
        assertEquals("err\n", r.stderr());
        assertEquals("db2", ssh.connect(inventory.host("db2")).exec(Cmd.of("hostname")).out());
    }

    @Test
    void keptShellsGiveEachCommandItsExactOutputStatusAndNoInput() throws Exception {
        Connection c = ssh.connect(inventory.host("db1"));
        // output exactly as written: no newline, a trailing newline, two, none at all, binary-safe text
        assertEquals("abc", c.exec(Cmd.of("printf", "abc")).stdout());
        assertEquals("abc\n", c.exec(Cmd.of("printf", "abc\n")).stdout());
        assertEquals("a\n\n", c.exec(Cmd.of("printf", "a\n\n")).stdout());
        assertEquals("", c.exec(Cmd.of("true")).stdout());
        assertEquals("x\ty \u00e9", c.exec(Cmd.of("printf", "%s", "x\ty \u00e9")).stdout());
        ExecResult both = c.exec(Cmd.raw("printf out; printf err >&2; exit 7"));
        assertEquals(List.of(7, "out", "err"), List.of(both.exitStatus(), both.stdout(), both.stderr()));
        // a command that reads its input gets end of file at once: it can never eat the next command
        assertEquals("", c.exec(Cmd.raw("cat; echo done >/dev/null")).stdout());
        assertEquals("next", c.exec(Cmd.of("echo", "next")).out());
        // a command that prints something like a frame, or cds and exports, changes nothing for the next
        c.exec(Cmd.raw("echo pgplay-end-x 0; echo pgplay-end-x >&2; cd /; export PGPLAY_LEAK=1"));
        assertEquals("/home/admin|", c.exec(Cmd.raw("echo \"$(pwd)|${PGPLAY_LEAK:-}\"")).out());
        // a shell per become user, each kept
        assertEquals("root", c.sudo(Cmd.of("id", "-un")).out());
        assertEquals("postgres", c.sudo("postgres", Cmd.of("id", "-un")).out());
        // the command's parent is the kept shell (bash, as the host has it), the same for the next command
        Cmd keptShell = Cmd.raw("echo $PPID");
        String rootShell = c.sudo(keptShell).out();
        assertEquals(rootShell, c.sudo(keptShell).out(), "the same root shell runs the next command");
        assertEquals("bash", c.sudo(Cmd.raw("cat /proc/" + rootShell + "/comm")).out());
        // each command leads a process group of its own (what a timeout ends), not the shell's
        assertEquals("yes", c.exec(Cmd.raw("[ \"$(ps -o pgid= -p $$ | tr -d ' ')\" = $$ ] && [ $$ != $PPID ] && echo yes")).out());
        // commands of one user at the same time each get a shell
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            long t0 = System.nanoTime();
            List<java.util.concurrent.Future<ExecResult>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String n = String.valueOf(i);
                all.add(pool.submit(() -> c.exec(Cmd.raw("sleep 1; echo " + n))));
            }
            for (int i = 0; i < 4; i++) {
                assertEquals(String.valueOf(i), all.get(i).get().out());
            }
            assertTrue(System.nanoTime() - t0 < 3_000_000_000L, "four 1 s commands ran side by side");
        } finally {
            pool.shutdownNow();
        }
        // sudo refusing to start a shell is the command's failure, as on a channel of its own
        ExecResult refused = c.sudo("no-such-user", Cmd.of("true"));
        assertFalse(refused.ok());
        assertTrue(refused.stderr().contains("no-such-user"), refused.stderr());
        assertEquals("fine", c.exec(Cmd.of("echo", "fine")).out());
    }

    @Test
    void hostileValuesArriveLiterally() {
        Connection c = ssh.connect(inventory.host("db1"));
        String hostile = "x'; touch /tmp/pwned; echo '";
        String[] values = {hostile, "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "a\nb; touch /tmp/pwned", "*", "", "\"; touch /tmp/pwned #"};
        for (String v : values) {
            assertEquals(v, c.exec(Cmd.of("printf", "%s", v)).stdout());
            assertEquals(v, c.sudo(Cmd.of("printf", "%s", v)).stdout(), "through sudo");
            assertEquals(v, c.sudo("postgres", Cmd.of("printf", "%s", v).env("X", v)).stdout(), "through sudo -u postgres");
        }
        assertEquals(1, c.exec(Cmd.of("test", "-e", "/tmp/pwned")).exitStatus(), "/tmp/pwned must not exist");
    }

    @Test
    void becomeRootAndPostgres() {
        Connection c = ssh.connect(inventory.host("db2"));
        assertEquals("admin", c.exec(Cmd.of("id", "-un")).out());
        assertEquals("root", c.sudo(Cmd.of("id", "-un")).out());
        assertEquals("postgres", c.sudo("postgres", Cmd.of("id", "-un")).out());
        assertEquals("1", c.sudo("postgres", Cmd.of("psql", "-tAc", "SELECT 1")).out());
    }

    @Test
    void becomeAndLoginWithPasswordsThatNeverReachTheProcessList() throws Exception {
        LabHost db2 = LAB.host("db2");
        String password = "pw-" + System.nanoTime() + "'\"$x";
        db2.docker("sh", "-c", "id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops");
        Path pwFile = LAB.lab().dir().resolve("ops-password");
        Files.writeString(pwFile, password);
        db2.docker("sh", "-c", "printf 'ops:%s\\n' \"$1\" | chpasswd && echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/ops", "sh", password);
        Inventory inv = Inventory.load(LAB.lab().writeInventory("ops.conf",
                "hosts.db2 { user = ops, identity-file = [], password-file = \"" + pwFile + "\", become { password-file = \"" + pwFile + "\" } }"));
        Connection c = ssh.connect(inv.host("db2"));
        assertEquals("ops", c.exec(Cmd.of("id", "-un")).out());
        CompletableFuture<ExecResult> slow = CompletableFuture.supplyAsync(() -> c.sudo(Cmd.raw("sleep 2; id -un")));
        Thread.sleep(700);
        String ps = db2.docker("ps", "-eo", "args");
        assertTrue(ps.contains("sleep 2"), ps);
        assertFalse(ps.contains(password), "password visible in the process list");
        assertEquals("root", slow.get().out());
    }

    @Test
    void unknownHostKeyRefusedUnlessAcceptNewAndChangedKeyAlwaysRefused() throws Exception {
        Path empty = LAB.lab().dir().resolve("empty_known_hosts");
        Files.writeString(empty, "");
        Inventory strict = Inventory.load(LAB.lab().writeInventory("strict.conf", "defaults.known-hosts = \"" + empty + "\""));
        UnreachableException unknown = assertThrows(UnreachableException.class, () -> ssh.connect(strict.host("db1")));
        assertTrue(unknown.getMessage().startsWith("db1: unknown host key SHA256:"), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("ssh-keyscan -p 22 " + LAB.host("db1").address()), unknown.getMessage());

        Inventory acceptNew = Inventory.load(LAB.lab().writeInventory("accept.conf",
                "defaults { known-hosts = \"" + empty + "\", host-key-checking = accept-new }"));
        assertEquals("db1", ssh.connect(acceptNew.host("db1")).exec(Cmd.of("hostname")).out());
        String added = Files.readString(empty);
        assertTrue(added.startsWith(LAB.host("db1").address() + " "), added);

        // now pretend db2's keys belong to db1's address: a changed key, refused even with accept-new
        Path wrong = LAB.lab().dir().resolve("wrong_known_hosts");
        StringBuilder sb = new StringBuilder();
        LAB.host("db2").hostKeys().forEach(k -> sb.append(LAB.host("db1").address()).append(' ').append(k).append('\n'));
        Files.writeString(wrong, sb.toString());
        Inventory changed = Inventory.load(LAB.lab().writeInventory("changed.conf",
                "defaults { known-hosts = \"" + wrong + "\", host-key-checking = accept-new }"));
        SshTransport fresh = new SshTransport();
        try {
            UnreachableException e = assertThrows(UnreachableException.class, () -> fresh.connect(changed.host("db1")));
            assertTrue(e.getMessage().startsWith("db1: HOST KEY CHANGED for " + LAB.host("db1").address()), e.getMessage());
        } finally {
            fresh.close();
        }
        assertEquals(sb.toString(), Files.readString(wrong), "known_hosts must not be rewritten");
    }

    @Test
    void aKnownHostsFileThatCannotBeUsedRefusesInsteadOfAcceptingEveryKey() throws Exception {
        Path dir = Files.createDirectories(LAB.lab().dir().resolve("known_hosts_dir"));
        for (String mode : new String[] {"accept-new", "strict"}) {
            Inventory inv = Inventory.load(LAB.lab().writeInventory("kh-" + mode + ".conf",
                    "defaults { known-hosts = \"" + dir + "\", host-key-checking = " + mode + " }"));
            SshTransport fresh = new SshTransport();
            try {
                UnreachableException e = assertThrows(UnreachableException.class, () -> fresh.connect(inv.host("db1")));
                assertTrue(e.getMessage().contains("known_hosts " + dir + " is not a regular file; refusing to connect"), mode + ": " + e.getMessage());
                assertFalse(e.getMessage().contains("unknown host key"), e.getMessage());
            } finally {
                fresh.close();
            }
        }
    }

    @Test
    void aBecomePasswordNeverReachesTheCommandWhenSudoDoesNotAsk() throws Exception {
        // the lab's admin has NOPASSWD sudo: sudo reads nothing, and the password must still not reach the command
        String secret = "Become-Secret-" + System.nanoTime();
        Path pw = LAB.lab().dir().resolve("become-password");
        Files.writeString(pw, secret + "\n");
        Inventory inv = Inventory.load(LAB.lab().writeInventory("become.conf",
                "defaults.become { method = sudo, user = root, password-file = \"" + pw + "\" }"));
        Connection c = ssh.connect(inv.host("db2"));
        ExecResult r = c.exec(Cmd.of("cat"), ExecOptions.as("root").stdin("line 1\nline 2\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals("line 1\nline 2\n", r.stdout());
        assertEquals("root", c.exec(Cmd.of("id", "-un"), ExecOptions.as("root")).out());
        assertEquals("", c.exec(Cmd.of("cat"), ExecOptions.as("postgres")).stdout(), "no input: nothing read");
        try (Interactive sh = c.interactive(Cmd.of("sh"), ExecOptions.as("root").timeout(Duration.ofSeconds(10)))) {
            assertEquals(java.util.List.of("root"), sh.request("id -un; echo __end__\n", "__end__", Duration.ofSeconds(10)),
                    "the first line the shell reads is the request, not the password");
        }
        assertFalse(LAB.host("db2").docker("sh", "-c", "journalctl --no-pager -q 2>/dev/null | tail -n 200; cat /var/log/auth.log 2>/dev/null || true")
                .contains(secret), "the password is nowhere in the host's logs");
    }

    @Test
    void wrongKeyAndUnreachableAddressSayWhat() throws Exception {
        Path otherKey = LAB.lab().dir().resolve("other_key");
        dev.pgplay.lab.LabKeys.generate(otherKey);
        Inventory wrongKey = Inventory.load(LAB.lab().writeInventory("wrongkey.conf", "defaults.identity-file = \"" + otherKey + "\""));
        UnreachableException auth = assertThrows(UnreachableException.class, () -> ssh.connect(wrongKey.host("db1")));
        assertTrue(auth.getMessage().startsWith("db1: authentication failed for admin@"), auth.getMessage());

        String nobody = LAB.lab().network().address(199);
        Inventory down = Inventory.load(LAB.lab().writeInventory("down.conf",
                "hosts.ghost { address = \"" + nobody + "\", connect-timeout = 2s }"));
        long start = System.nanoTime();
        UnreachableException e = assertThrows(UnreachableException.class, () -> ssh.connect(down.host("ghost")));
        assertTrue(e.getMessage().startsWith("ghost: cannot connect to admin@" + nobody + ":22"), e.getMessage());
        assertTrue(System.nanoTime() - start < 15_000_000_000L, "connect timeout not honoured");
    }

    @Test
    void commandTimeoutClosesTheChannel() {
        Connection c = ssh.connect(inventory.host("db1"));
        CommandTimeoutException e = assertThrows(CommandTimeoutException.class,
                () -> c.exec(Cmd.of("sleep", "30"), ExecOptions.DEFAULT.timeout(Duration.ofSeconds(1))));
        assertEquals("db1: `sleep 30` did not finish within 1 s", e.getMessage());
        assertEquals("still usable", c.exec(Cmd.of("echo", "still usable")).out());
    }

    @Test
    void commandTimeoutEndsTheRemoteProcessGroup() throws Exception {
        Connection c = ssh.connect(inventory.host("db1"));
        // a shell with a child in the background and one in the foreground, as root through become
        assertThrows(CommandTimeoutException.class, () -> c.exec(Cmd.raw("sleep 3101 & sleep 3102; wait"),
                ExecOptions.as("root").timeout(Duration.ofSeconds(1))));
        String left = "";
        for (int i = 0; i < 50; i++) {
            left = LAB.host("db1").dockerResult("pgrep", "-af", "sleep 310[12]").getStdout().strip();
            if (left.isEmpty()) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals("", left, "processes of the timed-out command still run");
    }

    @Test
    void aSessionDroppedMidCommandIsUnreachableNotAFinishedCommand() throws Exception {
        Connection c = ssh.connect(inventory.host("db1"));
        Thread cut = new Thread(() -> {
            try {
                Thread.sleep(700);
                // sshd's session process for this connection dies: the channel closes without an exit status
                LAB.host("db1").dockerResult("sh", "-c", "pkill -KILL -f 'sshd: admin'");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        cut.start();
        UnreachableException e = assertThrows(UnreachableException.class, () -> c.exec(Cmd.of("sleep", "20"),
                ExecOptions.DEFAULT.timeout(Duration.ofSeconds(15))));
        cut.join();
        assertTrue(e.getMessage().startsWith("db1: connection lost while running `sleep 20`"), e.getMessage());
    }

    @Test
    void anInteractiveCommandAnswersEachRequestInTheSameProcess() {
        Connection c = ssh.connect(inventory.host("db1"));
        try (Interactive sh = c.interactive(Cmd.of("sh"), ExecOptions.as("root").timeout(Duration.ofSeconds(10)))) {
            assertEquals(java.util.List.of("root"), sh.request("id -un; echo __end__\n", "__end__", Duration.ofSeconds(10)));
            String pid = sh.request("echo $$; echo __end__\n", "__end__", Duration.ofSeconds(10)).get(0);
            assertEquals(pid, sh.request("echo $$; echo __end__\n", "__end__", Duration.ofSeconds(10)).get(0), "the same shell answers");
            IllegalStateException ended = assertThrows(IllegalStateException.class,
                    () -> sh.request("echo oops >&2; exit 3\n", "__end__", Duration.ofSeconds(10)));
            assertTrue(ended.getMessage().contains("oops"), ended.getMessage());
        }
        try (Interactive sh = c.interactive(Cmd.of("sh"), ExecOptions.DEFAULT.timeout(Duration.ofSeconds(10)))) {
            assertThrows(CommandTimeoutException.class, () -> sh.request("sleep 2; echo __end__\n", "__end__", Duration.ofMillis(300)));
            // the late answer must not be taken for the next one's
            IllegalStateException after = assertThrows(IllegalStateException.class, () -> sh.request("echo __end__\n", "__end__", Duration.ofSeconds(5)));
            assertTrue(after.getMessage().contains("not usable after a request that timed out"), after.getMessage());
        }
        try (Interactive psql = c.interactive(Cmd.of("psql", "-X", "-q", "-A", "-t", "-d", "postgres"), ExecOptions.as("postgres"))) {
            assertEquals(java.util.List.of("15"), psql.request("SELECT current_setting('server_version_num')::int / 10000;\n\\echo __end__\n", "__end__", Duration.ofSeconds(10)));
            assertEquals(java.util.List.of("2"), psql.request("SELECT 2;\n\\echo __end__\n", "__end__", Duration.ofSeconds(10)));
        }
    }

    @Test
    void streamedOutputLines() {
        Connection c = ssh.connect(inventory.host("db1"));
        java.util.List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        c.exec(Cmd.raw("for i in 1 2 3; do echo line$i; done"), ExecOptions.DEFAULT.onLine(lines::add));
        assertEquals(java.util.List.of("line1", "line2", "line3"), lines);
    }

    @Test
    void uploadIsAtomicWithModeAndOwnerAndDownloadReadsItBack() {
        Connection c = ssh.connect(inventory.host("db1"));
        byte[] content = "listen_addresses = '*'\n# é ünïcode\n".getBytes(StandardCharsets.UTF_8);
        c.upload(content, "/etc/postgresql/15/main/conf.d/pgplay-test.conf", "0640", "postgres:postgres");
        assertEquals("640 postgres postgres", c.exec(Cmd.of("stat", "-c", "%a %U %G", "/etc/postgresql/15/main/conf.d/pgplay-test.conf")).out());
        assertEquals(new String(content, StandardCharsets.UTF_8),
                new String(c.download("/etc/postgresql/15/main/conf.d/pgplay-test.conf"), StandardCharsets.UTF_8));
        assertEquals("", c.exec(Cmd.raw("ls /tmp | grep pgplay || true; ls /etc/postgresql/15/main/conf.d | grep '[.]pgplay-' || true")).out(),
                "no temporary files left behind");
        c.sudo(Cmd.of("rm", "-f", "/etc/postgresql/15/main/conf.d/pgplay-test.conf")).check("db1");
    }

    @Test
    void jdbcThroughATunnelToAServerListeningOnlyOnLoopback() throws Exception {
        Connection c = ssh.connect(inventory.host("db2"));
        assertEquals("localhost", c.sudo("postgres", Cmd.of("psql", "-tAc", "SHOW listen_addresses")).out());
        c.sudo("postgres", Cmd.of("psql", "-c", "ALTER ROLE postgres PASSWORD 'tunnel-test'")).check("db2");
        try (Tunnel t = c.forward("127.0.0.1", 5432);
             var jdbc = DriverManager.getConnection(t.jdbcUrl("postgres"), "postgres", "tunnel-test");
             ResultSet rs = jdbc.createStatement().executeQuery("SELECT inet_server_addr()::text, current_setting('server_version')")) {
            assertTrue(rs.next());
            assertEquals("127.0.0.1/32", rs.getString(1));
            assertTrue(rs.getString(2).startsWith("15."));
        }
    }

    @Test
    void hostReachableOnlyThroughAJumpHost() {
        Host inner = inventory.host("inner");
        LabHost labInner = LAB.host("inner");
        // direct: no answer
        Inventory direct = Inventory.load(LAB.lab().writeInventory("direct.conf", "hosts.inner.connect-timeout = 2s"));
        try (SshTransport other = new SshTransport()) {
            assertThrows(UnreachableException.class, () -> other.connect(direct.host("inner")));
        }
        // through db1
        Connection c = ssh.connect(inner);
        assertEquals("inner", c.exec(Cmd.of("hostname")).out());
        assertTrue(c.exec(Cmd.of("hostname", "-I")).out().contains(labInner.address()));
    }

    @Test
    void passphraseProtectedRsaAndEcdsaKeys() throws Exception {
        LabHost db1 = LAB.host("db1");
        Path pass = LAB.lab().dir().resolve("key-passphrase");
        Files.writeString(pass, "correct horse\n");
        for (String type : new String[] {"rsa", "ecdsa"}) {
            Path key = LAB.lab().dir().resolve("id_" + type + "_pw");
            Files.deleteIfExists(key);
            Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", type, "-N", "correct horse", "-C", "test", "-f", key.toString())
                    .redirectErrorStream(true).start();
            assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
            String pub = Files.readString(Path.of(key + ".pub")).trim();
            db1.docker("sh", "-c", "printf '%s\\n' \"$1\" >> /home/admin/.ssh/authorized_keys", "sh", pub);
            Inventory inv = Inventory.load(LAB.lab().writeInventory(type + ".conf",
                    "defaults { identity-file = \"" + key + "\", identity-passphrase-file = \"" + pass + "\" }"));
            try (SshTransport t = new SshTransport(null)) {
                assertEquals("db1", t.connect(inv.host("db1")).exec(Cmd.of("hostname")).out(), type);
            }
        }
    }

    @Test
    void sshConfigFillsWhatTheInventoryLeavesUnset() throws Exception {
        LabHost db1 = LAB.host("db1");
        Path config = LAB.lab().dir().resolve("ssh_config");
        Files.writeString(config, "Host db1\n  User admin\n  IdentityFile " + LAB.lab().privateKey() + "\n");
        Path inv = LAB.lab().dir().resolve("bare.conf");
        Files.writeString(inv, "hosts { db1 { address = \"" + db1.address() + "\", known-hosts = \"" + LAB.lab().knownHosts() + "\" } }\n");
        Inventory bare = Inventory.load(inv);
        try (SshTransport t = new SshTransport(config)) {
            assertEquals("admin", t.connect(bare.host("db1")).exec(Cmd.of("id", "-un")).out());
        }
        try (SshTransport t = new SshTransport(null)) {
            UnreachableException e = assertThrows(UnreachableException.class, () -> t.connect(bare.host("db1")));
            assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
        }
    }

    @Test
    void keysFromARunningSshAgent() throws Exception {
        Path dir = LAB.lab().dir();
        Path socket = dir.resolve("agent.sock");
        Path key = dir.resolve("id_agent");
        Files.deleteIfExists(key);
        Process gen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agent", "-f", key.toString()).start();
        assertEquals(0, gen.waitFor());
        LAB.host("db2").docker("sh", "-c", "printf '%s\\n' \"$1\" >> /home/admin/.ssh/authorized_keys", "sh",
                Files.readString(Path.of(key + ".pub")).trim());
        Process agent = new ProcessBuilder("ssh-agent", "-D", "-a", socket.toString()).redirectErrorStream(true).start();
        try {
            for (int i = 0; i < 50 && !Files.exists(socket); i++) {
                Thread.sleep(100);
            }
            ProcessBuilder add = new ProcessBuilder("ssh-add", key.toString()).redirectErrorStream(true);
            add.environment().put("SSH_AUTH_SOCK", socket.toString());
            Process a = add.start();
            assertEquals(0, a.waitFor(), new String(a.getInputStream().readAllBytes()));
            // the inventory names no key at all: only the agent has one
            Path inv = dir.resolve("agent.conf");
            Files.writeString(inv, "hosts { db2 { address = \"" + LAB.host("db2").address() + "\", user = admin, known-hosts = \""
                    + LAB.lab().knownHosts() + "\" } }\n");
            try (SshTransport t = new SshTransport(null, socket)) {
                assertEquals("db2", t.connect(Inventory.load(inv).host("db2")).exec(Cmd.of("hostname")).out());
            }
            try (SshTransport t = new SshTransport(null, null)) {
                assertThrows(UnreachableException.class, () -> t.connect(Inventory.load(inv).host("db2")));
            }
        } finally {
            agent.destroy();
        }
    }
}
