package dev.pgplay.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.security.PublicKey;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The lab's promises, checked on real hosts: SSH, PostgreSQL versions, an offline minor upgrade, a moving VIP. */
class LabIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2");

    @Test
    void sshWithTheRunKeyIntoBothHostsShowsBothClustersAndPostgres15_18Starts() throws IOException {
        for (LabHost host : LAB.hosts()) {
            try (LabSsh ssh = LabSsh.connect(LAB.lab(), host.address())) {
                LabSsh.Result who = ssh.exec("id -un; hostname");
                assertEquals(0, who.exit(), who.stderr());
                assertEquals("admin\n" + host.name() + "\n", who.stdout());

                String clusters = ssh.exec("pg_lsclusters --no-header").stdout();
                assertTrue(clusters.matches("(?ms).*^13\\s+main\\s+5433\\s.*"), clusters);
                assertTrue(clusters.matches("(?ms).*^15\\s+main\\s+5432\\s.*"), clusters);

                LabSsh.Result restart = ssh.exec("sudo -n pg_ctlcluster 15 main stop && sudo -n pg_ctlcluster 15 main start");
                assertEquals(0, restart.exit(), restart.stderr());
                LabSsh.Result version = ssh.exec("sudo -n -u postgres psql -p 5432 -tAc 'SHOW server_version'");
                assertEquals(0, version.exit(), version.stderr());
                assertTrue(version.stdout().startsWith("15.18"), version.stdout());
            }
        }
    }

    /**
     * A lab host boots like a server: systemd is PID 1, PostgreSQL clusters are units, no
     * policy-rc.d blocks package scripts, so installing a postgresql package starts a stopped
     * cluster (Debian's postinst: invoke-rc.d postgresql start); a reboot keeps the address and
     * host keys and starts the clusters marked auto.
     */
    @Test
    void hostsBehaveLikeServers_packageScriptsStartServices_andARebootKeepsKeysAndStartsClusters() throws IOException {
        LabHost db2 = LAB.host("db2");
        assertEquals("systemd", db2.docker("ps", "-o", "comm=", "-p", "1").strip());
        assertEquals("running", db2.docker("systemctl", "is-system-running").strip());
        assertEquals("active\nactive\nactive\n", db2.docker("systemctl", "is-active", "ssh", "systemd-journald", "postgresql@15-main"));
        assertFalse(db2.dockerResult("test", "-e", "/usr/sbin/policy-rc.d").getExitCode() == 0, "no policy-rc.d");

        db2.docker("pg_ctlcluster", "15", "main", "stop");
        assertTrue(db2.docker("pg_lsclusters", "15", "main", "--no-header").contains(" down "));
        db2.docker("sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall postgresql-15 >/dev/null 2>&1");
        assertTrue(db2.docker("pg_lsclusters", "15", "main", "--no-header").contains(" online"), "the package's scripts started the cluster");

        String keys = db2.docker("sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub");
        db2.reboot();
        assertEquals(keys, db2.docker("sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"), "host keys survive a reboot");
        assertTrue(db2.docker("pg_lsclusters", "15", "main", "--no-header").contains(" online"));
        assertTrue(db2.docker("pg_lsclusters", "13", "main", "--no-header").contains(" down "), "13 is manual: not started at boot");
        try (LabSsh ssh = LabSsh.connect(LAB.lab(), db2.address())) {
            assertEquals(0, ssh.exec("true").exit(), "sshd answers at the same address after the reboot");
        }
    }

    @Test
    void unknownHostKeyIsRefused() throws IOException {
        LabHost db1 = LAB.host("db1");
        // a known_hosts that names db1's address with db2's keys: strict checking must refuse
        java.nio.file.Path wrong = LAB.lab().dir().resolve("wrong_known_hosts");
        StringBuilder sb = new StringBuilder();
        LAB.host("db2").hostKeys().forEach(k -> sb.append(db1.address()).append(' ').append(k).append('\n'));
        java.nio.file.Files.writeString(wrong, sb.toString());
        org.apache.sshd.client.SshClient client = org.apache.sshd.client.SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(new org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier(
                org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier.INSTANCE, wrong));
        client.start();
        try {
            var session = client.connect("admin", db1.address(), 22).verify(java.time.Duration.ofSeconds(10)).getSession();
            session.addPublicKeyIdentity(LAB.lab().keys().keyPair());
            assertThrows(Exception.class, () -> session.auth().verify(java.time.Duration.ofSeconds(10)));
        } finally {
            client.stop();
        }
    }

    @Test
    void minorUpgradeTo15_20IsARealPackageUpgradeWithNoNetwork() throws IOException {
        LabHost db2 = LAB.host("db2");
        // cut the host off from everything but its own subnet: no default route
        db2.docker("ip", "route", "del", "default");
        try (LabSsh ssh = LabSsh.connect(LAB.lab(), db2.address())) {
            assertEquals("15.18-0+deb12u1", ssh.exec("dpkg-query -W -f '${Version}' postgresql-15").stdout());
            LabSsh.Result sources = ssh.exec("apt-get indextargets --format '$(URI)'");
            assertFalse(sources.stdout().isBlank());
            for (String uri : sources.stdout().split("\n")) {
                assertTrue(uri.isBlank() || uri.startsWith("file:"), "apt source is not local: " + uri);
            }
            LabSsh.Result upgrade = ssh.exec("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15");
            assertEquals(0, upgrade.exit(), upgrade.stdout() + upgrade.stderr());
            assertEquals("15.20-0+deb12u1", ssh.exec("dpkg-query -W -f '${Version}' postgresql-15").stdout());
            LabSsh.Result restart = ssh.exec("sudo -n pg_ctlcluster 15 main restart");
            assertEquals(0, restart.exit(), restart.stderr());
            String version = ssh.exec("sudo -n -u postgres psql -p 5432 -tAc 'SHOW server_version'").stdout();
            assertTrue(version.startsWith("15.20"), version);
        }
    }

    @Test
    void vipMovesBetweenHostsAndTheJvmFollowsAfterGratuitousArp() throws Exception {
        LabHost a = LAB.host("db1");
        LabHost b = LAB.host("db2");
        String vip = LAB.lab().freeVip();
        assertEquals("0", a.docker("sysctl", "-n", "net.ipv4.ip_forward").trim());

        a.docker("ip", "addr", "add", vip + "/24", "dev", "eth0");
        a.docker("arping", "-U", "-c", "1", "-I", "eth0", vip);
        assertEquals(keyOf(a), answeringKey(vip), "VIP on A must be answered by A");

        a.docker("ip", "addr", "del", vip + "/24", "dev", "eth0");
        b.docker("ip", "addr", "add", vip + "/24", "dev", "eth0");
        b.docker("arping", "-U", "-c", "1", "-I", "eth0", vip);
        long start = System.nanoTime();
        String answered = answeringKey(vip);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(keyOf(b), answered, "after the move, B must answer at the VIP");
        assertNotEquals(keyOf(a), keyOf(b));
        System.out.println("lab: VIP " + vip + " answered by " + b.name() + " " + millis + " ms after the gratuitous ARP");
        b.docker("ip", "addr", "del", vip + "/24", "dev", "eth0");
    }

    private static String answeringKey(String address) throws IOException {
        AtomicReference<PublicKey> presented = new AtomicReference<>();
        try (LabSsh ssh = LabSsh.connectRecording(LAB.lab(), address, presented)) {
            assertEquals(0, ssh.exec("true").exit());
        }
        return PublicKeyEntry.toString(presented.get());
    }

    private static String keyOf(LabHost host) throws IOException {
        AtomicReference<PublicKey> presented = new AtomicReference<>();
        try (LabSsh ssh = LabSsh.connectRecording(LAB.lab(), host.address(), presented)) {
            assertEquals(0, ssh.exec("true").exit());
        }
        return PublicKeyEntry.toString(presented.get());
    }
}
