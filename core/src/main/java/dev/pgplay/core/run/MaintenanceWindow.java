package dev.pgplay.core.run;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * A patch window such as {@code 01:00-05:00} or {@code 22:30-02:00@Europe/Berlin} (local time zone
 * when none is given; a window may cross midnight). The run refuses to start outside it, and an
 * irreversible task refuses to begin when its estimate would end past the window.
 */
public record MaintenanceWindow(LocalTime start, LocalTime end, ZoneId zone) {
    public static MaintenanceWindow parse(String text) {
        String spec = text.trim();
        ZoneId zone = ZoneId.systemDefault();
        int at = spec.indexOf('@');
        try {
            if (at >= 0) {
                zone = ZoneId.of(spec.substring(at + 1));
                spec = spec.substring(0, at);
            }
            String[] parts = spec.split("-");
            if (parts.length != 2) {
                throw new IllegalArgumentException("window '" + text + "': expected HH:MM-HH:MM[@ZONE]");
            }
            return new MaintenanceWindow(LocalTime.parse(parts[0].trim()), LocalTime.parse(parts[1].trim()), zone);
        } catch (java.time.DateTimeException e) {
            throw new IllegalArgumentException("window '" + text + "': " + e.getMessage() + " (expected HH:MM-HH:MM[@ZONE])", e);
        }
    }

    /** The end of the window that contains {@code now}, or null when {@code now} is outside. */
    public ZonedDateTime endOf(ZonedDateTime now) {
        ZonedDateTime local = now.withZoneSameInstant(zone);
        LocalTime t = local.toLocalTime();
        boolean crosses = end.isBefore(start) || end.equals(start);
        if (!crosses) {
            if (!t.isBefore(start) && t.isBefore(end)) {
                return local.with(end);
            }
            return null;
        }
        if (!t.isBefore(start)) {
            return local.plusDays(1).with(end);
        }
        if (t.isBefore(end)) {
            return local.with(end);
        }
        return null;
    }

    public boolean contains(ZonedDateTime now) {
        return endOf(now) != null;
    }

    /** Whether work estimated to take {@code estimate} and starting now ends inside the window. */
    public boolean fits(ZonedDateTime now, Duration estimate) {
        ZonedDateTime end = endOf(now);
        return end != null && !now.plus(estimate).isAfter(end);
    }

    @Override
    public String toString() {
        return start + "-" + end + "@" + zone.getId();
    }
}
