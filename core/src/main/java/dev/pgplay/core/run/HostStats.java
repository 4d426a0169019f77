package dev.pgplay.core.run;

/** Per-host counts for the recap, as Ansible prints them. */
public record HostStats(int ok, int changed, int unreachable, int failed, int skipped, int ignored) {
    static final HostStats ZERO = new HostStats(0, 0, 0, 0, 0, 0);

    HostStats add(TaskResult r, boolean ignoredFailure) {
        if (ignoredFailure) {
            return new HostStats(ok, changed, unreachable, failed, skipped, ignored + 1);
        }
        if (r instanceof TaskResult.Changed) {
            return new HostStats(ok + 1, changed + 1, unreachable, failed, skipped, ignored);
        }
        if (r instanceof TaskResult.Skipped) {
            return new HostStats(ok, changed, unreachable, failed, skipped + 1, ignored);
        }
        if (r instanceof TaskResult.Failed) {
            return new HostStats(ok, changed, unreachable, failed + 1, skipped, ignored);
        }
        if (r instanceof TaskResult.Unreachable) {
            return new HostStats(ok, changed, unreachable + 1, failed, skipped, ignored);
        }
        return new HostStats(ok + 1, changed, unreachable, failed, skipped, ignored);
    }
}
