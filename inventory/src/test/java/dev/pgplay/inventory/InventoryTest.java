package dev.pgplay.inventory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InventoryTest {
    @TempDir
    Path dir;

    private Inventory parse(String text) {
        return Inventory.parse(text, "hosts.conf", dir);
    }

    private List<String> problems(String text) {
        InventoryException e = assertThrows(InventoryException.class, () -> parse(text));
        return e.problems().stream().map(Problem::toString).toList();
    }

    @Test
    void theRepositoryHostsConfLoads() {
        Path root = Path.of(System.getProperty("pgplay.repo", "..")).resolve("hosts.conf");
        Inventory inv = Inventory.load(root);
        assertEquals(List.of("db1", "db2"), inv.hosts().stream().map(Host::name).toList());
        assertEquals("db1", inv.roles().primary().orElseThrow());
        assertEquals(List.of("db2"), inv.roles().standbys());
        assertEquals("10.210.30.30", inv.roles().vip().orElseThrow().address());
        assertEquals("admin", inv.host("db1").user());
        assertTrue(inv.host("db1").identityFiles().get(0).endsWith(".lab/id_ed25519"));
    }

    @Test
    void defaultsHostOverridesAndVarsPrecedence() {
        Inventory inv = parse("""
                defaults { user = ops, port = 2222, identity-file = keys/id }
                vars { a = all, b = all, c = all }
                hosts {
                  db1 { address = 10.0.0.1, port = 22, vars { c = host } }
                  db2 { address = 10.0.0.2, user = other }
                }
                groups {
                  pg { hosts = [db1, db2], vars { b = group } }
                  eu { children = [pg] }
                }
                """);
        Host db1 = inv.host("db1");
        assertEquals(22, db1.port());
        assertEquals("ops", db1.user());
        assertEquals(dir.resolve("keys/id"), db1.identityFiles().get(0));
        assertEquals("all", db1.var("a"));
        assertEquals("group", db1.var("b"));
        assertEquals("host", db1.var("c"));
        assertEquals(2222, inv.host("db2").port());
        assertEquals("other", inv.host("db2").user());
        assertEquals(java.util.Set.of("db1", "db2"), inv.groups().get("eu"));
        assertTrue(db1.groups().contains("eu"));
    }

    @Test
    void substitutionsAndIncludeWorkAsInHocon() throws IOException {
        Files.writeString(dir.resolve("common.conf"), "defaults { user = fromInclude }\n");
        Path main = dir.resolve("hosts.conf");
        Files.writeString(main, """
                include "common.conf"
                net = "10.1.2"
                hosts { db1 { address = ${net}".5" } }
                """.replace("net = \"10.1.2\"", "vars { net = \"10.1.2\" }").replace("${net}", "${vars.net}"));
        Inventory inv = Inventory.load(main);
        assertEquals("10.1.2.5", inv.host("db1").address());
        assertEquals("fromInclude", inv.host("db1").user());
    }

    @Test
    void everyProblemIsReportedWithFileAndLine() {
        List<String> p = problems("""
                hosts {
                  db1 { address = 10.0.0.1, colour = blue }
                  db2 { port = 22 }
                  db3 { address = 10.0.0.1 }
                  db4 { address = 10.0.0.4, port = many }
                }
                roles {
                  primary = [db1, db3]
                  standby = [db9]
                }
                """);
        assertTrue(p.contains("hosts.conf:2: hosts.db1.colour: unknown key (allowed here: address, become, connect-timeout, groups, host-key-checking, identity-file, identity-passphrase-env, identity-passphrase-file, known-hosts, password-env, password-file, port, proxy-jump, role, user, vars)"), p.toString());
        assertTrue(p.contains("hosts.conf:3: hosts.db2: missing address"), p.toString());
        assertTrue(p.contains("hosts.conf:4: hosts.db3: duplicate host: same address and port (10.0.0.1:22) as db1"), p.toString());
        assertTrue(p.contains("hosts.conf:5: hosts.db4.port: must be a whole number, got string \"many\""), p.toString());
        assertTrue(p.contains("hosts.conf:8: roles.primary: two primaries: db1, db3"), p.toString());
        assertTrue(p.contains("hosts.conf:9: roles.standby: no host named db9"), p.toString());
        assertEquals(6, p.size(), p.toString());
    }

    @Test
    void theTargetIsAHostThatIsNeitherPrimaryNorStandby() {
        List<String> p = problems("""
                hosts {
                  db1 { address = 10.0.0.1 }
                  db2 { address = 10.0.0.2 }
                }
                roles {
                  primary = db1
                  target = [db1, db7]
                }
                """);
        assertTrue(p.contains("hosts.conf:7: roles.target: db1 is the primary; the target is the server the database moves to"), p.toString());
        assertTrue(p.contains("hosts.conf:7: roles.target: no host named db7"), p.toString());
        assertTrue(p.contains("hosts.conf:7: roles.target: two targets: db1, db7"), p.toString());
        assertEquals(3, p.size(), p.toString());
    }

    @Test
    void twoPrimariesThroughHostRolesAndUnknownTopLevelKey() {
        List<String> p = problems("""
                hostz { }
                hosts {
                  a { address = h1, role = primary }
                  b { address = h2, role = primary }
                }
                """);
        assertTrue(p.get(0).startsWith("hosts.conf:1: hostz: unknown key"), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.contains("two primaries: a, b")), p.toString());
    }

    @Test
    void syntaxErrorNamesTheLine() {
        List<String> p = problems("hosts {\n  db1 { address = 10.0.0.1 \n");
        assertEquals(1, p.size());
        assertTrue(p.get(0).startsWith("hosts.conf:"), p.get(0));
    }

    @Test
    void passwordComesFromAFileAndNeverPrints() throws IOException {
        Files.writeString(dir.resolve("pw"), "s3cret\n");
        Inventory inv = parse("hosts { db1 { address = h, become { password-file = pw } } }");
        Secret s = inv.host("db1").become().password().orElseThrow();
        assertEquals("s3cret", s.reveal());
        assertEquals("******", s.toString());
        assertTrue(!inv.host("db1").toString().contains("s3cret"));
        List<String> p = problems("hosts { db1 { address = h, password-env = PGPLAY_SURELY_UNSET_VAR } }");
        assertEquals(List.of("hosts.conf:1: hosts.db1.password-env: environment variable PGPLAY_SURELY_UNSET_VAR is not set"), p);
    }

    @Test
    void hostPatterns() {
        Inventory inv = parse("""
                hosts { db1 { address = a }, db2 { address = b }, db3 { address = c }, web1 { address = d } }
                groups { pg { hosts = [db1, db2, db3] }, dc1 { hosts = [db1, web1] } }
                """);
        assertEquals(List.of("db1", "db2", "db3", "web1"), names(inv.select("*")));
        assertEquals(List.of("db1", "db2", "db3", "web1"), names(inv.select("all")));
        assertEquals(List.of("db1", "db3"), names(inv.select("pg,!db2")));
        assertEquals(List.of("db1"), names(inv.select("pg:&dc1")));
        assertEquals(List.of("db2", "web1"), names(inv.select("db2,web*")));
        assertEquals(List.of("db2", "db3", "web1"), names(inv.select("!db1")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> inv.select("db9"));
        assertEquals("host pattern 'db9': no host or group named db9", e.getMessage());
    }

    private static List<String> names(List<Host> hosts) {
        return hosts.stream().map(Host::name).toList();
    }

    @Test
    void aHostDefinedTwiceIsAnErrorNamingBothLines() {
        List<String> p = problems("hosts {\n  db1 { address = 10.0.0.1 }\n}\nhosts.db2 { address = 10.0.0.2 }\nhosts {\n  db1 { port = 2222, address = 10.0.0.3 }\n}\n");
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("hosts.conf:2") && p.get(0).contains("defined twice") && p.get(0).contains("hosts.conf:6"), p.get(0));
        List<String> sameBlock = problems("hosts {\n  db1 { address = 10.0.0.1 }\n  # db1 { address = old }\n  \"db1\" = { port = 2, vars { address = 1 }, address: \"10.0.0.9\" }\n}\n");
        assertTrue(sameBlock.size() == 1 && sameBlock.get(0).contains("hosts.conf:2 and hosts.conf:4"), sameBlock.toString());
        // a dotted setting, or a block without an address, overrides settings of a host: not a second definition
        Inventory inv = parse("hosts {\n  db1 { address = 10.0.0.1, vars { a = \"{\" } }\n}\nhosts.db1.port = 2222\nhosts.db1 { user = ops, vars { address = x } }\n");
        assertEquals(2222, inv.host("db1").port());
        assertEquals("ops", inv.host("db1").user());
    }

    @Test
    void includesOnlyOfFiles() throws IOException {
        Files.writeString(dir.resolve("more.conf"), "hosts.db2 { address = 10.0.0.2 }\n");
        Inventory inv = Inventory.load(write("ok.conf", "include \"more.conf\"\nhosts.db1 { address = 10.0.0.1 }\n"));
        assertEquals(List.of("db1", "db2"), inv.hosts().stream().map(Host::name).sorted().toList());
        for (String include : List.of("include url(\"http://127.0.0.1:9/x.conf\")", "include \"http://127.0.0.1:9/x.conf\"",
                "include required(url(\"http://127.0.0.1:9/x.conf\"))", "include classpath(\"reference.conf\")")) {
            InventoryException e = assertThrows(InventoryException.class, () -> Inventory.load(write("bad.conf",
                    "hosts.db1 { address = 10.0.0.1 }\n" + include + "\n")));
            String text = e.problems().toString();
            assertTrue(text.contains("bad.conf:2") && text.contains("only files can be included"), include + ": " + text);
        }
    }

    @Test
    void addressesMustBeHostNamesOrIpAddresses() {
        for (String bad : List.of("\"10.0.0.1\\nhost all all 0.0.0.0/0 trust\"", "\"db1\\tx\"", "\"db'1\"", "\"a b\"", "\"-oProxyCommand=x\"",
                "\"host=evil\"", "\"\"", "\"999.1.1.1\"", "\"db..example\"")) {
            List<String> p = problems("hosts.db1 { address = " + bad + " }\n");
            assertTrue(p.size() == 1 && p.get(0).contains("hosts.conf:1") && p.get(0).contains("not a host name or IP address"), bad + ": " + p);
        }
        for (String good : List.of("10.0.0.1", "db1.example.com", "db-1", "\"fd00::1\"", "\"::1\"", "localhost")) {
            assertEquals(1, parse("hosts.db1 { address = " + good + " }\n").hosts().size(), good);
        }
    }

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }
}
