package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the old primary rejoins, decided from its control data and the new timeline's switch point. */
class RejoinChoiceTest {
    private static Map<String, String> control(String state, String checkpoint, String checksums) {
        return Map.of("Database cluster state", state, "Latest checkpoint location", checkpoint,
                "wal_log_hints setting", "off", "Data page checksum version", checksums);
    }

    @Test
    void directOnlyWhenItsWalEndsBeforeTheSwitchPoint() {
        assertEquals(new Rejoin.Choice(true, true, true, 0x3000028L, 0x3000100L),
                Rejoin.Choice.of(control("shut down", "0/3000028", "1"), -1, 0x3000100L));
        assertEquals(new Rejoin.Choice(false, true, false, 0x3000200L, 0x3000100L),
                Rejoin.Choice.of(control("shut down", "0/3000200", "0"), -1, 0x3000100L), "past the switch point: rewind or basebackup");
        // fenced at its shutdown checkpoint: that is where its WAL ends, whatever the control file says now
        assertEquals(new Rejoin.Choice(true, true, true, 0x3000050L, 0x3000100L),
                Rejoin.Choice.of(control("shut down", "0/3000200", "1"), 0x3000050L, 0x3000100L));
    }

    @Test
    void aCrashedOrStandbyStoppedNodeIsNeverJoinedDirectly() {
        assertEquals(new Rejoin.Choice(false, false, true, -1, 0x3000100L),
                Rejoin.Choice.of(control("in production", "0/3000028", "1"), -1, 0x3000100L));
        assertEquals(new Rejoin.Choice(false, true, true, -1, 0x3000100L),
                Rejoin.Choice.of(control("shut down in recovery", "0/3000028", "1"), -1, 0x3000100L), "clean, but where its WAL ends is unknown");
    }
}
