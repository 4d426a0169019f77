package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vars.switch, the PgBouncer settings and rolling-minor's standby choices, refused with their origin before any host is contacted. */
class SwitchSettingsTest {
    @TempDir
    Path dir;

    Inventory inventory(String more) {
        return Inventory.parse("""
                hosts { db1 { address = 10.0.0.1 }, db2 { address = 10.0.0.2 }, db3 { address = 10.0.0.3 }, app1 { address = 10.0.0.9 } }
                roles { primary = db1, standby = [db2, db3] }
                vars { replication-password = "x" }
                %s
                """.formatted(more), "hosts.conf", dir);
    }

    String error(String more, Map<String, Object> extra) {
        return assertThrows(IllegalArgumentException.class, () -> new RollingMinor().plays(inventory(more), extra)).getMessage();
    }

    @Test
    void badSwitchSettingsAreNamedWithTheirLine() {
        assertEquals("hosts.conf:4: switch = [vip, haproxy]: 'haproxy' is not a switch method (vip, pgbouncer, hosts-alias, dns-hook)",
                error("vars { switch = [vip, haproxy] }", Map.of()));
        assertEquals("hosts.conf:4: switch lists vip, and roles.vip is not set", error("vars { switch = [vip] }", Map.of()));
        assertTrue(error("vars { switch = [pgbouncer] }", Map.of()).startsWith("hosts.conf:4: switch lists pgbouncer, and the inventory has no group pgbouncer"));
        assertEquals("hosts.conf:6: pgbouncer-config must be an absolute path, got 'pgbouncer.ini'",
                error("groups { pgbouncer { hosts = [app1] } }\nvars { switch = [pgbouncer]\npgbouncer-config = pgbouncer.ini }", Map.of()));
        assertEquals("-e pgbouncer-port: pgbouncer-port must be a positive number, got 'x'",
                error("groups { pgbouncer { hosts = [app1] } }\nvars { switch = [pgbouncer] }", Map.of("pgbouncer-port", "x")));
    }

    @Test
    void badStandbyChoicesAreNamed() {
        assertEquals("-e new-primary=db9: not a standby of roles.standby [db2, db3]", error("", Map.of("new-primary", "db9")));
        assertEquals("hosts.conf:5: db3's upstream = db1: a cascading standby's upstream must be another standby of roles.standby [db2, db3] "
                + "(a standby of the primary needs no upstream)", error("hosts {\n db3 { vars { upstream = db1 } } }", Map.of()));
        assertEquals("-e new-primary=db3: db3 is a cascading standby (upstream = db2); name a standby of the primary",
                error("hosts { db3 { vars { upstream = db2 } } }", Map.of("new-primary", "db3")));
    }

    @Test
    void pgbouncerIsOffUnlessListed() {
        new RollingMinor().plays(inventory("groups { pgbouncer { hosts = [app1] } }"), Map.of());
    }
}
