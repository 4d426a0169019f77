package dev.pgplay.core.output;

import dev.pgplay.core.run.HostStats;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Host;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * Ansible-style console output: PLAY and TASK headers, one line per host result, progress lines
 * of long waits, diffs in diff mode, and the PLAY RECAP. {@code verbosity} 1 adds commands,
 * 2 adds command output.
 */
public final class ConsoleListener implements RunListener {
    private final PrintStream out;
    private final int verbosity;
    private final boolean diff;
    private final boolean terminal;
    private final java.util.function.LongSupplier clock;
    /** On a terminal: a progress line is showing, to be cleared before anything else is printed. */
    private boolean inPlace;
    private final Map<String, Long> lastShown = new java.util.HashMap<>();
    private final Map<String, String> lastShape = new java.util.HashMap<>();
    private long taskStart;

    /** A task's output is progress worth showing once it has run this long (a quick command's is not). */
    static final long LONG_WAIT_MILLIS = 2_000;

    /** Between two plain progress lines of one host and task when the output is not a terminal. */
    static final long PLAIN_EVERY_MILLIS = 10_000;
    /** Between two different plain progress lines of one host and task. */
    static final long PLAIN_OTHER_MILLIS = 2_000;

    public ConsoleListener(PrintStream out, int verbosity, boolean diff) {
        this(out, verbosity, diff, false, System::currentTimeMillis);
    }

    /**
     * {@code terminal}: progress of long waits (pg_basebackup's percent, pg_upgrade's phases,
     * apt, replication lag) is one line updated in place; otherwise plain lines, per host and task
     * an update of the same thing (other numbers only) at most every {@link #PLAIN_EVERY_MILLIS},
     * another line at most every {@link #PLAIN_OTHER_MILLIS} (all of them with -v).
     */
    public ConsoleListener(PrintStream out, int verbosity, boolean diff, boolean terminal, java.util.function.LongSupplier clock) {
        PrintStream sink = out;
        this.out = new PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                clearProgress();
                sink.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                clearProgress();
                sink.write(b, off, len);
            }

            @Override
            public void flush() {
                sink.flush();
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        this.raw = out;
        this.verbosity = verbosity;
        this.diff = diff;
        this.terminal = terminal;
        this.clock = clock;
    }

    private final PrintStream raw;

    private void clearProgress() {
        if (inPlace) {
            inPlace = false;
            raw.print("\r\033[K");
        }
    }

    private static String header(String text) {
        int stars = Math.max(3, 78 - text.length());
        return text + " " + "*".repeat(stars);
    }

    @Override
    public void runStarted(String playbook, boolean checkMode) {
        if (checkMode) {
            out.println("CHECK MODE: nothing will be changed; changed means would change.");
        }
    }

    @Override
    public void playStarted(Play play, List<Host> hosts) {
        out.println();
        out.println(header("PLAY [" + play.name() + "]"));
        if (hosts.isEmpty()) {
            out.println("skipping: no hosts matched");
        }
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        taskStart = clock.getAsLong();
        out.println();
        out.println(header((handler ? "RUNNING HANDLER [" : "TASK [") + task.name() + "]"));
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult r) {
        String label;
        if (r instanceof TaskResult.Changed) {
            label = "changed: [" + host.name() + "]";
        } else if (r instanceof TaskResult.Skipped) {
            label = "skipping: [" + host.name() + "]";
        } else if (r instanceof TaskResult.Failed) {
            label = "fatal: [" + host.name() + "]: FAILED!" + (task.ignoresErrors() ? " (ignored)" : "");
        } else if (r instanceof TaskResult.Unreachable) {
            label = "fatal: [" + host.name() + "]: UNREACHABLE!";
        } else {
            label = "ok: [" + host.name() + "]";
        }
        String text = r.message() == null ? "" : r.message().strip();
        if (r instanceof TaskResult.Failed && text.contains("\n")) {
            // a list of reasons: each on its own line, in full (what to fix is in them)
            List<String> lines = text.lines().toList();
            out.println(label + " => " + lines.get(0));
            lines.subList(1, Math.min(lines.size(), 60)).forEach(l -> out.println("    " + l));
        } else {
            out.println(label + (text.isEmpty() ? "" : " => " + oneLine(text)));
        }
        if (r instanceof TaskResult.Changed c) {
            if (verbosity >= 1) {
                c.commands().forEach(cmd -> out.println("    $ " + cmd));
            }
            if (diff) {
                c.diff().ifPresent(d -> printDiff(d));
            }
        }
        if (r.data().get("report") instanceof List<?> report) {
            report.forEach(line -> out.println("    " + line));
        }
        if (verbosity >= 2) {
            Object stdout = r.data().get("stdout");
            if (stdout != null && !stdout.toString().isBlank()) {
                stdout.toString().lines().forEach(l -> out.println("    | " + l));
            }
        }
    }

    private void printDiff(TaskResult.Diff d) {
        out.println("--- before: " + d.path());
        out.println("+++ after: " + d.path());
        List<String> before = d.before().lines().toList();
        List<String> after = d.after().lines().toList();
        for (String l : before) {
            if (!after.contains(l)) {
                out.println("-" + l);
            }
        }
        for (String l : after) {
            if (!before.contains(l)) {
                out.println("+" + l);
            }
        }
    }

    @Override
    public void progress(Host host, Task task, String line) {
        String text = "  [" + host.name() + "] " + line.strip();
        if (line.isBlank()) {
            return;
        }
        boolean wait = line.startsWith("waiting") || line.startsWith("retrying");
        if (verbosity >= 1) {
            out.println(text);
        } else if (!wait && clock.getAsLong() - taskStart < LONG_WAIT_MILLIS) {
            return; // not a long wait (yet)
        } else if (terminal) {
            clearProgress();
            raw.print(text.length() > 150 ? text.substring(0, 149) + "~" : text);
            raw.flush();
            inPlace = true;
        } else {
            // an update of the same thing (the same words, other numbers: "(21%)", "(3 s)") at most every 10 s, another line
            // at most every 2 s (apt's or pg_upgrade's stream of lines thinned out); "waiting"/"retrying" lines always
            long now = clock.getAsLong();
            String key = host.name() + "\n" + task.name();
            String shape = line.replaceAll("[0-9]+", "#");
            Long last = lastShown.get(key);
            boolean same = shape.equals(lastShape.get(key));
            if (last == null || now - last >= (same ? PLAIN_EVERY_MILLIS : PLAIN_OTHER_MILLIS)
                    || (!same && wait)) {
                lastShown.put(key, now);
                lastShape.put(key, shape);
                out.println(text);
            }
        }
    }

    @Override
    public void runFinished(RunResult result) {
        out.println();
        out.println(header("PLAY RECAP"));
        int width = result.stats().keySet().stream().mapToInt(String::length).max().orElse(4);
        for (Map.Entry<String, HostStats> e : result.stats().entrySet()) {
            HostStats s = e.getValue();
            out.printf("%-" + width + "s : ok=%-4d changed=%-4d unreachable=%-4d failed=%-4d skipped=%-4d ignored=%d%n",
                    e.getKey(), s.ok(), s.changed(), s.unreachable(), s.failed(), s.skipped(), s.ignored());
        }
        if (result.cancelled()) {
            out.println("run cancelled: tasks under way were allowed to finish, nothing new was started");
        }
        out.printf("finished in %.1f s, exit code %d%n", result.duration().toMillis() / 1000.0, result.exitCode());
    }

    private static String oneLine(String s) {
        String t = s.strip().replace("\n", " | ");
        return t.length() > 400 ? t.substring(0, 400) + "..." : t;
    }
}
