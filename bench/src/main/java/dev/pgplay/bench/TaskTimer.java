package dev.pgplay.bench;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Host;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * How long the last task whose name matches took until it reported "changed" (-1: none did), and its message.
 * With {@code -Dtimings=true} every task's time on each host is printed too (where a window goes).
 */
final class TaskTimer implements RunListener {
    private static final boolean PRINT = Boolean.getBoolean("timings");
    private final Predicate<String> name;
    private final Map<String, Long> started = new HashMap<>();
    private volatile long millis = -1;
    private volatile String message = "";
    private boolean print = PRINT;
    final long created = System.nanoTime();

    TaskTimer(Predicate<String> name) {
        this.name = name;
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        started.put(task.name(), System.nanoTime());
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult result) {
        Long from = started.get(task.name());
        if (print && from != null) {
            System.out.printf("    at %7d ms %6d ms  %-5s %s: %s%n", (from - created) / 1_000_000, (System.nanoTime() - from) / 1_000_000, host.name(),
                    result.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT), task.name());
        }
        if (name.test(task.name()) && result instanceof TaskResult.Changed) {
            millis = (System.nanoTime() - started.get(task.name())) / 1_000_000;
            message = result.message();
        }
    }

    /** This timer does not print task times (another listener of the same run does). */
    TaskTimer quiet() {
        print = false;
        return this;
    }

    long millis() {
        return millis;
    }

    String message() {
        return message;
    }
}
