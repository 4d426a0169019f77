package dev.pgplay.playbooks;

import dev.pgplay.cli.Main;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The playbook CLI against real hosts: exit codes, one clear line per error, nothing run after a validation error. */
class CliIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");

    static CliRun cli(String... args) {
        return CliRun.of(args);
    }

    private static boolean touched(LabHost h) {
        return h.dockerResult("test", "-e", "/var/lib/pgplay").getExitCode() == 0;
    }

    private static String logDir() {
        return LAB.lab().dir().resolve("logs").toString();
    }

    @Test
    void pingAllHostsExitsZeroAndWritesEvents() throws Exception {
        Path inv = LAB.lab().writeInventory("hosts.conf", "");
        Path events = LAB.lab().dir().resolve("events.jsonl");
        Path report = LAB.lab().dir().resolve("ping-report.html");
        String logs = logDir();
        CliRun r = cli("ping", inv.toString(), "--events", events.toString(), "--log-dir", logs, "--report", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("ok: [db1] => pong (become root)"), r.out());
        assertTrue(r.out().contains("report: " + report), r.out());
        String html = Files.readString(report);
        assertTrue(html.contains("data-host=\"db1\"") && html.contains("data-host=\"db2\""), html);
        try (var files = Files.list(Path.of(logs))) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().matches("ping-.*\\.html")), "a report beside the log");
        }
        assertTrue(r.out().contains("PLAY RECAP"));
        List<String> lines = Files.readAllLines(events);
        ObjectMapper json = new ObjectMapper();
        JsonNode last = json.readTree(lines.get(lines.size() - 1));
        assertEquals("run_finished", last.get("event").asText());
        assertEquals(0, last.get("exit_code").asInt());
        assertTrue(lines.stream().map(l -> {
            try {
                return json.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(l, e);
            }
        }).anyMatch(n -> "host_result".equals(n.get("event").asText()) && "db2".equals(n.get("host").asText())));
    }

    @Test
    void unknownPlaybookAndBadUsageExitOneWithOneLine() {
        CliRun r = cli("no-such-playbook", "hosts.conf");
        assertEquals(1, r.code());
        assertEquals("playbook: unknown playbook 'no-such-playbook' (known: " + String.join(", ", Main.playbooks().keySet()) + ")\n", r.err());
        assertEquals(1, cli("ping").code());
        assertEquals(1, cli("ping", "x", "--forks", "many").code());
        CliRun list = cli("--list");
        assertEquals(0, list.code());
        assertTrue(list.out().lines().anyMatch(l -> l.matches("ping +connect to every host.*")), list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("rolling-minor ")), list.out());
    }

    @Test
    void inventoryErrorsAreListedWithLinesAndNothingRuns() {
        Path inv = LAB.lab().writeInventory("bad.conf", "hosts.db3 { port = 22 }\nroles.primary = [db1, db2]\nroles.standby = nobody\n");
        CliRun r = cli("ping", inv.toString(), "--log-dir", logDir());
        assertEquals(1, r.code());
        String[] lines = r.err().split("\n");
        assertTrue(lines[0].matches("bad\\.conf:\\d+: hosts\\.db3: missing address"), r.err());
        assertTrue(r.err().contains("roles.primary: two primaries: db1, db2"), r.err());
        assertTrue(r.err().contains("roles.standby: no host named nobody"), r.err());
        assertTrue(lines[lines.length - 1].startsWith("playbook: 3 problem(s) in "), r.err());
        assertEquals("", r.out());
        LAB.hosts().forEach(h -> assertFalse(touched(h), h.name() + " was contacted"));
        CliRun missing = cli("ping", LAB.lab().dir().resolve("nope.conf").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("nope.conf: no such file"), missing.err());
    }

    @Test
    void unreachableWrongKeyAndUnknownHostKeyExitFour() throws Exception {
        Path otherKey = LAB.lab().dir().resolve("wrong_key");
        dev.pgplay.lab.LabKeys.generate(otherKey);
        Path empty = LAB.lab().dir().resolve("empty_known_hosts");
        Files.writeString(empty, "");
        Path inv = LAB.lab().writeInventory("mixed.conf",
                "hosts.db2 { identity-file = \"" + otherKey + "\" }\n"
                        + "hosts.ghost { address = \"" + LAB.lab().network().address(197) + "\", connect-timeout = 2s }\n"
                        + "hosts.stranger { address = \"" + LAB.host("db1").address() + "\", port = 22, known-hosts = \"" + empty + "\" }\n");
        // stranger is db1 under another name: same address, so the inventory must refuse it first
        CliRun dup = cli("ping", inv.toString(), "--log-dir", logDir());
        assertEquals(1, dup.code());
        assertTrue(dup.err().contains("duplicate host"), dup.err());

        inv = LAB.lab().writeInventory("mixed.conf",
                "hosts.db2 { identity-file = \"" + otherKey + "\" }\n"
                        + "hosts.ghost { address = \"" + LAB.lab().network().address(197) + "\", connect-timeout = 2s }\n"
                        + "hosts.db1 { known-hosts = \"" + empty + "\" }\n");
        CliRun r = cli("ping", inv.toString(), "--log-dir", logDir());
        assertEquals(4, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("fatal: [db1]: UNREACHABLE! => db1: unknown host key SHA256:"), r.out());
        assertTrue(r.out().contains("fatal: [db2]: UNREACHABLE! => db2: authentication failed for admin@"), r.out());
        assertTrue(r.out().contains("fatal: [ghost]: UNREACHABLE! => ghost: cannot connect to admin@"), r.out());
    }

    @Test
    void failedHostsExitTwoAndSecretsNeverReachOutputEventsOrLogs() throws Exception {
        LabHost db2 = LAB.host("db2");
        String password = "Sup3r-secret-" + System.nanoTime();
        db2.docker("sh", "-c", "id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops; printf 'ops:%s\\n' \"$1\" | chpasswd; "
                + "echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/ops", "sh", password);
        Path good = LAB.lab().dir().resolve("good-pw");
        Path bad = LAB.lab().dir().resolve("bad-pw");
        Files.writeString(good, password);
        Files.writeString(bad, password + "-wrong");
        Path inv = LAB.lab().writeInventory("secrets.conf",
                "hosts.db2 { user = ops, identity-file = [], password-file = \"" + good + "\", become { password-file = \"" + bad + "\" } }");
        Path events = LAB.lab().dir().resolve("secret-events.jsonl");
        Path logs = LAB.lab().dir().resolve("secret-logs");
        CliRun r = cli("ping", inv.toString(), "-vv", "--events", events.toString(), "--log-dir", logs.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("fatal: [db2]: FAILED!"), r.out());
        String everything = r.out() + r.err() + Files.readString(events);
        try (var files = Files.list(logs)) {
            for (Path f : files.toList()) {
                everything += Files.readString(f);
            }
        }
        assertFalse(everything.contains(password), "a secret leaked");
    }

    @Test
    void listTasksAndHostsAndCheckMode() {
        Path inv = LAB.lab().writeInventory("hosts.conf", "");
        CliRun r = cli("ping", inv.toString(), "--list-tasks", "--list-hosts", "--limit", "db2");
        assertEquals(0, r.code());
        assertEquals("play: ping\n  db2 (" + LAB.host("db2").address() + ")\n  connect and become root\n  facts\n", r.out());
        CliRun bad = cli("ping", inv.toString(), "--limit", "db9");
        assertEquals(1, bad.code());
        assertTrue(bad.err().startsWith("playbook: host pattern 'db9': no host or group named db9"), bad.err());
        CliRun check = cli("ping", inv.toString(), "--check", "--log-dir", logDir());
        assertEquals(0, check.code());
        assertTrue(check.out().startsWith("CHECK MODE"), check.out());
        assertFalse(check.out().contains("run lock"), "check mode takes no lock");
    }
}
