package dev.pgplay.playbooks;

import static dev.pgplay.playbooks.MajorSettingsTest.extra;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.inventory.Inventory;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlueGreenSettingsTest {
    @TempDir
    Path dir;

    Inventory inventory(String more) {
        return Inventory.parse("""
                hosts { db1 { address = 10.0.0.1 }, db2 { address = 10.0.0.2 }, db3 { address = 10.0.0.3 } }
                roles { primary = db1, standby = [db2] }
                vars { replication-password = "x", pg-version = "13" }
                %s
                """.formatted(more), "hosts.conf", dir);
    }

    String error(String more, Map<String, Object> extra) {
        return assertThrows(IllegalArgumentException.class, () -> BlueGreenSettings.of(inventory(more), extra)).getMessage();
    }

    @Test
    void greenIsOneOtherHostAndBadInputIsNamedBeforeAnythingRuns() {
        Map<String, Object> v15 = extra("new-version", "15");
        assertTrue(error("", v15).startsWith("hosts.conf: no group green: name the host that gets the new cluster"));
        assertTrue(error("groups { green { hosts = [db3, db2] } }", v15).startsWith("hosts.conf: group green has 2 hosts [db2, db3]"));
        assertEquals("hosts.conf: green host db1 is the primary; green must be another host", error("groups { green { hosts = [db1] } }", v15));
        assertTrue(error("groups { green { hosts = [db2] } }", v15).startsWith("hosts.conf: green host db2 is a standby of blue"));
        String green = "groups { green { hosts = [db3] } }";
        assertEquals("hosts.conf: new-version is not set (the major green runs, e.g. -e new-version=15)", error(green, extra()));
        assertEquals("hosts.conf: new-version 13 is not newer than pg-version 13", error(green, extra("new-version", "13")));
        assertEquals("hosts.conf: catch-up-timeout must be seconds from 1 to 99999, got '0'", error(green, extra("new-version", "15", "catch-up-timeout", "0")));
        assertEquals("hosts.conf: copy-large-objects must be true or false, got 'yes'", error(green, extra("new-version", "15", "copy-large-objects", "yes")));
    }

    @Test
    void sidesAndDefaults() {
        BlueGreenSettings s = BlueGreenSettings.of(inventory("groups { green { hosts = [db3] } }"), extra("new-version", "15"));
        assertEquals("db1", s.host(Side.BLUE));
        assertEquals("db3", s.host(Side.GREEN));
        assertEquals("15", s.cluster(Side.GREEN).version());
        assertEquals(5432, s.cluster(Side.GREEN).port(), "green takes blue's port: clients keep theirs when the VIP moves");
        assertEquals("13 on db1 -> 15 on db3", s.title());
        assertEquals(30, s.catchUp().toSeconds());
        assertTrue(s.verify());
        assertEquals(Side.BLUE, Side.GREEN.other());
    }

    @Test
    void statusSurvivesItsFileAndNamesWithCommas() {
        BlueGreenStatus st = new BlueGreenStatus();
        st.phase = BlueGreenStatus.Phase.SWITCHING;
        st.writable = Side.BLUE;
        st.target = Side.GREEN;
        st.blockedAt = 1234;
        st.switches = 2;
        st.schemaCopied = new java.util.ArrayList<>(List.of("shop", "a,b c"));
        st.message = "two\nlines";
        BlueGreenStatus back = BlueGreenStatus.parse(st.text());
        assertEquals(BlueGreenStatus.Phase.SWITCHING, back.phase);
        assertEquals(Side.GREEN, back.target);
        assertEquals(1234, back.blockedAt);
        assertEquals(2, back.switches);
        assertEquals(List.of("shop", "a,b c"), back.schemaCopied);
        assertEquals("two lines", back.message);
        BlueGreenStatus none = BlueGreenStatus.parse("");
        assertEquals(BlueGreenStatus.Phase.NONE, none.phase);
        assertNull(none.target);
        assertThrows(IllegalArgumentException.class, () -> BlueGreenStatus.parse("phase=flying\n"));
    }

    @Test
    void greenHasAnApplyWorkerPerDatabaseAndTableCopiesBesideThem() {
        String six = BlueGreenPrep.settings(6, 3);
        assertTrue(six.contains("max_logical_replication_workers = 9\n"), six);
        assertTrue(six.contains("max_worker_processes = 18\n"), "the workers, the launcher and PostgreSQL's 8: " + six);
        assertTrue(six.contains("max_replication_slots = 10\n") && six.contains("max_wal_senders = 10\n"), six);
        String many = BlueGreenPrep.settings(40, 4);
        assertTrue(many.contains("max_logical_replication_workers = 44\n") && many.contains("max_replication_slots = 44\n"),
                "the way back needs a slot and a sender per database on green: " + many);
    }

    @Test
    void choicesMadeAtPrepareAreKeptInTheStatus() {
        BlueGreenStatus st = new BlueGreenStatus();
        st.copyLargeObjects = true;
        st.unloggedEmpty = true;
        BlueGreenStatus back = BlueGreenStatus.parse(st.text());
        assertTrue(back.copyLargeObjects && back.unloggedEmpty, st.text());
        BlueGreenStatus none = BlueGreenStatus.parse(new BlueGreenStatus().text());
        assertTrue(!none.copyLargeObjects && !none.unloggedEmpty);
        assertEquals(false, BlueGreenStatus.parse("phase=ready\n").copyLargeObjects, "a status of an earlier pgplay: nothing chosen");
    }
}
