package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Clients that find the database by a name (switch = [vip, hosts-alias, dns-hook]): a writer on a
 * client host connects to db.lab by name, a new connection per commit; rolling-minor switches
 * over, db.lab in the client's /etc/hosts leads to the new primary, the DNS hook is called with
 * the old and the new address, and no acknowledged commit is lost.
 */
class RollingMinorHostsAliasIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("db1", "db2", "app1");
    static PgLab pg;
    static Path hookLog;

    @BeforeAll
    static void cluster() throws Exception {
        hookLog = LAB.lab().dir().resolve("dns-hook.log");
        Path hook = LAB.lab().dir().resolve("dns-hook");
        Files.writeString(hook, "#!/bin/sh\necho \"$1 $2\" >> '" + hookLog + "'\necho updated\n");
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
        pg = new PgLab(LAB.lab(), "groups { clients { hosts = [app1] } }\n"
                + "vars { switch = [vip, hosts-alias, dns-hook], hosts-alias = db.lab, dns-hook = \"" + hook + "\" }");
        pg.setUpCluster();
    }

    @Test
    void aWriterOnAClientByNameLosesNothingAndTheNameFollowsThePrimary() throws Exception {
        LabHost db1 = pg.host("db1");
        LabHost db2 = pg.host("db2");
        LabHost app1 = pg.host("app1");
        PgLab.Run check = pg.playbook("rolling-minor", "--check");
        assertEquals(0, check.code(), check.out());
        assertTrue(check.out().contains("would: app1: db.lab -> " + db1.address()), check.out());
        assertEquals("", app1.docker("sh", "-c", "getent hosts db.lab || true").strip(), "check mode changed nothing");

        // a client application: a new connection by name for every commit, each acknowledged id logged
        NameClient client = NameClient.start(app1, 300);
        PgLab.Run r;
        try (client) {
            Thread.sleep(2000);
            r = pg.playbook("rolling-minor");
            Thread.sleep(1500);
        }
        assertEquals(0, r.code(), r.out());
        assertFalse(PgLab.inRecovery(db2));
        assertEquals(db2.address(), app1.docker("sh", "-c", "getent hosts db.lab | cut -d' ' -f1").strip(), "db.lab leads to the new primary");
        assertTrue(app1.docker("cat", "/etc/hosts").contains(db2.address() + " db.lab # pgplay hosts-alias"));
        assertEquals(List.of(db1.address() + " " + db2.address()), Files.readAllLines(hookLog), "the DNS hook was called once, old then new");
        assertTrue(r.out().contains("app1: db.lab -> " + db2.address() + " (was " + db1.address() + ")"), r.out());
        assertTrue(r.out().contains("dns-hook " + db1.address() + " -> " + db2.address() + ": updated"), r.out());

        List<Long> acked = client.acknowledged();
        assertTrue(acked.size() > 20, "the client wrote too little: " + acked.size());
        RollingMinorIT.assertAllPresent(acked, db2);
        System.out.printf("rolling-minor with a client by name: %d commits acknowledged, %s attempts failed%n", acked.size(),
                client.failures());
    }
}
