package dev.pgplay.core.run;

/**
 * A span during which the playbook refused writes (blocked to opened), in epoch milliseconds:
 * a task that measured one leaves it in its result's data under {@link #KEY}, and the run report
 * marks it on the timeline.
 */
public record WritesRefused(long fromMillis, long toMillis) {
    public static final String KEY = "writes-refused";

    public WritesRefused {
        if (toMillis < fromMillis) {
            throw new IllegalArgumentException("writes refused: ends before it starts (" + fromMillis + " > " + toMillis + ")");
        }
    }

    /** A span measured with System.nanoTime(), from {@code fromNanos} until now. */
    public static WritesRefused untilNow(long fromNanos) {
        long now = System.currentTimeMillis();
        return new WritesRefused(now - (System.nanoTime() - fromNanos) / 1_000_000, now);
    }

    public long millis() {
        return toMillis - fromMillis;
    }
}
