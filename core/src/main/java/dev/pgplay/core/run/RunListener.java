package dev.pgplay.core.run;

import dev.pgplay.inventory.Host;
import java.util.List;

/**
 * Receives every event of a run; the runner itself never prints. Calls are serialised: a listener
 * needs no locking of its own.
 */
public interface RunListener {
    default void runStarted(String playbook, boolean checkMode) {
    }

    default void playStarted(Play play, List<Host> hosts) {
    }

    default void taskStarted(Play play, Task task, boolean handler) {
    }

    default void hostResult(Host host, Task task, TaskResult result) {
    }

    default void progress(Host host, Task task, String line) {
    }

    default void runFinished(RunResult result) {
    }
}
