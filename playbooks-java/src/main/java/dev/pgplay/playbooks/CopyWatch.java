package dev.pgplay.playbooks;

import java.time.Duration;

/**
 * Whether green's initial copy still moves: it does while a table sync worker runs or the tables
 * left get fewer; when neither happens for {@code limit} (every worker slot taken by apply
 * workers, a sync worker that dies at its start), it is stalled and the run says why instead of
 * polling for hours. A value: each observation gives the next watch.
 */
record CopyWatch(int left, long lastMoveNanos, Duration limit) {
    static CopyWatch start(int left, long nowNanos, Duration limit) {
        return new CopyWatch(left, nowNanos, limit);
    }

    /** The watch after seeing {@code left} tables still to copy and {@code syncWorkers} copying at {@code nowNanos}. */
    CopyWatch see(int left, int syncWorkers, long nowNanos) {
        boolean moved = syncWorkers > 0 || left < this.left;
        return new CopyWatch(left, moved ? nowNanos : lastMoveNanos, limit);
    }

    boolean stalled(long nowNanos) {
        return left > 0 && nowNanos - lastMoveNanos > limit.toNanos();
    }
}
