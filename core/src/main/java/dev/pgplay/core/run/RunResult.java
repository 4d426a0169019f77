package dev.pgplay.core.run;

import java.time.Duration;
import java.util.Map;

/** The outcome of a run: per-host stats and the exit code a scheduler acts on. */
public record RunResult(Map<String, HostStats> stats, Duration duration, boolean cancelled) {
    public static final int OK = 0;
    public static final int FAILED_HOSTS = 2;
    public static final int UNREACHABLE_HOSTS = 4;

    /** 0; 2 when a host failed; 4 when a host was unreachable; ORed. */
    public int exitCode() {
        int code = OK;
        for (HostStats s : stats.values()) {
            if (s.failed() > 0) {
                code |= FAILED_HOSTS;
            }
            if (s.unreachable() > 0) {
                code |= UNREACHABLE_HOSTS;
            }
        }
        if (cancelled) {
            code |= FAILED_HOSTS;
        }
        return code;
    }
}
