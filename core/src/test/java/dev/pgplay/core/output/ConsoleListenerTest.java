package dev.pgplay.core.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Progress of long waits: updated in place on a terminal, plain and thinned out otherwise. */
class ConsoleListenerTest {
    @TempDir
    Path dir;

    private Host db1() {
        return Inventory.parse("hosts { db1 { address = 10.0.0.1 } }", "hosts.conf", dir).host("db1");
    }

    @Test
    void onATerminalOneLineIsUpdatedInPlaceAndClearedBeforeTheResult() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong(1_000_000);
        ConsoleListener c = new ConsoleListener(new PrintStream(bytes, true, StandardCharsets.UTF_8), 0, false, true, now::get);
        Task t = Task.of("clone", ctx -> TaskResult.ok(""));
        c.taskStarted(null, t, false);
        c.progress(db1(), t, "(pgplay_db2,)"); // a quick command's output is not a long wait's progress
        now.addAndGet(2_000);
        bytes.reset();
        c.progress(db1(), t, "1024/4096 kB (25%)");
        c.progress(db1(), t, "4096/4096 kB (100%)");
        c.hostResult(db1(), t, TaskResult.changed("cloned", java.util.List.of()));
        assertEquals("  [db1] 1024/4096 kB (25%)\r\033[K  [db1] 4096/4096 kB (100%)\r\033[Kchanged: [db1] => cloned\n",
                bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void otherwiseUpdatesOfTheSameThingAreThinnedToOneEveryTenSecondsAndOtherLinesShowAtOnce() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong(1_000_000);
        ConsoleListener c = new ConsoleListener(new PrintStream(bytes, true, StandardCharsets.UTF_8), 0, false, false, now::get);
        Task t = Task.of("clone", ctx -> TaskResult.ok(""));
        c.taskStarted(null, t, false);
        now.addAndGet(2_000);
        bytes.reset();
        c.progress(db1(), t, "10/100 kB (10%)");
        now.addAndGet(3_000);
        c.progress(db1(), t, "20/100 kB (20%)");
        c.progress(db1(), t, "pg_upgrade: Copying user relation files");
        c.progress(db1(), t, "pg_upgrade: Setting next OID"); // another line within 2 s: thinned out
        c.progress(db1(), t, "waiting for db2 (1 s)"); // a wait is always said
        now.addAndGet(10_000);
        c.progress(db1(), t, "90/100 kB (90%)");
        assertEquals("  [db1] 10/100 kB (10%)\n  [db1] pg_upgrade: Copying user relation files\n  [db1] waiting for db2 (1 s)\n"
                + "  [db1] 90/100 kB (90%)\n", bytes.toString(StandardCharsets.UTF_8));
    }
}
