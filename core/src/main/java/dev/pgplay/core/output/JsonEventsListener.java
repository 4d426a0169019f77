package dev.pgplay.core.output;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgplay.core.run.HostStats;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Host;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One JSON object per line for other tools ({@code --events FILE}): run, play, task, host result
 * (status, message, commands), progress, recap. Command output is not included (it may hold data
 * the operator did not mean to export); secrets never reach a command line, so none appear here.
 */
public final class JsonEventsListener implements RunListener, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter writer;

    public JsonEventsListener(Path file) {
        try {
            this.writer = Files.newBufferedWriter(PrivateFile.create(file), StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("events: cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private ObjectNode event(String type) {
        ObjectNode n = JSON.createObjectNode();
        n.put("ts", Instant.now().toString());
        n.put("event", type);
        return n;
    }

    private void write(ObjectNode n) {
        try {
            writer.write(JSON.writeValueAsString(n));
            writer.newLine();
            writer.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void runStarted(String playbook, boolean checkMode) {
        ObjectNode n = event("run_started");
        n.put("playbook", playbook);
        n.put("check_mode", checkMode);
        write(n);
    }

    @Override
    public void playStarted(Play play, List<Host> hosts) {
        ObjectNode n = event("play_started");
        n.put("play", play.name());
        hosts.forEach(h -> n.withArray("hosts").add(h.name()));
        write(n);
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        ObjectNode n = event(handler ? "handler_started" : "task_started");
        n.put("task", task.name());
        write(n);
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult r) {
        ObjectNode n = event("host_result");
        n.put("host", host.name());
        n.put("task", task.name());
        n.put("status", status(r));
        n.put("message", r.message());
        if (r instanceof TaskResult.Changed c) {
            c.commands().forEach(cmd -> n.withArray("commands").add(cmd));
        }
        Object rc = r.data().get("rc");
        if (rc instanceof Integer i) {
            n.put("rc", i);
        }
        write(n);
    }

    @Override
    public void progress(Host host, Task task, String line) {
        ObjectNode n = event("progress");
        n.put("host", host.name());
        n.put("task", task == null ? "" : task.name());
        n.put("line", line);
        write(n);
    }

    @Override
    public void runFinished(RunResult result) {
        ObjectNode n = event("run_finished");
        n.put("exit_code", result.exitCode());
        n.put("duration_ms", result.duration().toMillis());
        ObjectNode stats = n.putObject("stats");
        for (Map.Entry<String, HostStats> e : result.stats().entrySet()) {
            stats.set(e.getKey(), JSON.valueToTree(e.getValue()));
        }
        write(n);
    }

    static String status(TaskResult r) {
        if (r instanceof TaskResult.Changed) {
            return "changed";
        }
        if (r instanceof TaskResult.Skipped) {
            return "skipped";
        }
        if (r instanceof TaskResult.Failed) {
            return "failed";
        }
        if (r instanceof TaskResult.Unreachable) {
            return "unreachable";
        }
        return "ok";
    }

    @Override
    public void close() {
        try {
            writer.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
