package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CopyWatchTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aCopyWithNoSyncWorkerAndNoTableDoneIsStalledAfterTheLimit() {
        CopyWatch w = CopyWatch.start(5, 0, Duration.ofMinutes(3));
        w = w.see(5, 0, 60 * S).see(5, 0, 179 * S);
        assertFalse(w.stalled(179 * S));
        w = w.see(5, 0, 181 * S);
        assertTrue(w.stalled(181 * S), "4 apply workers holding every slot: nothing copies");
    }

    @Test
    void aRunningSyncWorkerOrATableDoneIsProgress() {
        CopyWatch w = CopyWatch.start(5, 0, Duration.ofMinutes(3));
        w = w.see(5, 1, 170 * S).see(5, 0, 300 * S);
        assertFalse(w.stalled(300 * S), "a large table copied for minutes by one worker");
        w = w.see(4, 0, 480 * S);
        assertFalse(w.stalled(480 * S), "a table finished");
        w = w.see(4, 0, 661 * S);
        assertTrue(w.stalled(661 * S));
        assertFalse(w.see(0, 0, 700 * S).stalled(700 * S), "nothing left is never stalled");
    }
}
