package dev.pgplay.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

class MaintenanceWindowTest {
    private static ZonedDateTime at(String time, String zone) {
        return java.time.LocalDateTime.parse("2026-11-22T" + time + ":00").atZone(ZoneId.of(zone));
    }

    @Test
    void sameDayWindow() {
        MaintenanceWindow w = MaintenanceWindow.parse("01:00-05:00@UTC");
        assertTrue(w.contains(at("01:00", "UTC")));
        assertTrue(w.contains(at("04:59", "UTC")));
        assertFalse(w.contains(at("05:00", "UTC")));
        assertFalse(w.contains(at("00:59", "UTC")));
        assertTrue(w.fits(at("04:00", "UTC"), Duration.ofMinutes(60)));
        assertFalse(w.fits(at("04:30", "UTC"), Duration.ofMinutes(31)));
    }

    @Test
    void windowAcrossMidnightAndTimeZones() {
        MaintenanceWindow w = MaintenanceWindow.parse("22:30-02:00@Europe/Berlin");
        assertEquals(ZoneId.of("Europe/Berlin"), w.zone());
        assertTrue(w.contains(at("21:45", "UTC")), "22:45 in Berlin");
        assertTrue(w.contains(at("00:30", "UTC")), "01:30 in Berlin");
        assertFalse(w.contains(at("01:30", "UTC")), "02:30 in Berlin");
        assertTrue(w.fits(at("22:00", "UTC"), Duration.ofMinutes(59)));
        assertFalse(w.fits(at("00:30", "UTC"), Duration.ofMinutes(31)));
    }

    @Test
    void badSpecsSayWhatIsExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("1am-5am"));
        assertTrue(e.getMessage().startsWith("window '1am-5am': "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("01:00-05:00@Mars/Base"));
    }
}
