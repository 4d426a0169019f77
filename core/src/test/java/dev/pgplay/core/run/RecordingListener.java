package dev.pgplay.core.run;

import dev.pgplay.inventory.Host;
import java.util.ArrayList;
import java.util.List;

/** Keeps every event as a line, for assertions. */
final class RecordingListener implements RunListener {
    final List<String> events = new ArrayList<>();
    /** "HOST TASK: message" of every host result. */
    final List<String> messages = new ArrayList<>();
    RunResult result;

    @Override
    public void playStarted(Play play, List<Host> hosts) {
        events.add("play " + play.name());
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        events.add((handler ? "handler " : "task ") + task.name());
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult result) {
        events.add(host.name() + " " + task.name() + " " + result.getClass().getSimpleName().toLowerCase());
        messages.add(host.name() + " " + task.name() + " " + result.getClass().getSimpleName().toLowerCase() + ": " + result.message());
    }

    @Override
    public void runFinished(RunResult r) {
        result = r;
    }

    long count(String line) {
        return events.stream().filter(line::equals).count();
    }
}
