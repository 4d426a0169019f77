package dev.pgplay.core.output;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.run.WritesRefused;
import dev.pgplay.inventory.Host;
import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The run as one self-contained HTML page ({@code --report FILE.html}, and one beside each log):
 * a timeline per host of every task coloured by its outcome, the spans where writes were refused
 * (a task's {@link WritesRefused}) marked across it with their duration, what failed, and each
 * report task's lines (versions, the verification table, the next steps). Rendered with a
 * Mustache template (HTML-escaped: names read from servers are untrusted), no script and
 * nothing fetched, so it opens offline. Like the events file, no command line is included.
 */
public final class HtmlReport implements RunListener {
    /** A task's data key: host -> "before -> after" (versions), shown as a table. */
    public static final String VERSIONS = "versions";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HtmlReport.class);
    private static final Mustache TEMPLATE = new DefaultMustacheFactory().compile("dev/pgplay/core/output/report.mustache");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    private final List<Path> files;
    private String playbook = "";
    private boolean checkMode;
    private long started;
    private final Map<Task, Long> taskStarts = new IdentityHashMap<>();
    private final Map<String, List<Bar>> bars = new LinkedHashMap<>();
    private final List<WritesRefused> windows = new ArrayList<>();
    private final List<Section> reports = new ArrayList<>();
    private final List<Section> failures = new ArrayList<>();
    private final Map<String, String> versions = new LinkedHashMap<>();

    record Bar(String task, String play, String status, long from, long to, String message) {
    }

    /** A titled list of lines (a report task's, or a failure's). */
    public record Section(String host, String task, List<String> lines) {
    }

    /** A report written to each of {@code files} when the run finishes. */
    public HtmlReport(Path... files) {
        this.files = List.of(files);
    }

    private String play = "";

    @Override
    public void runStarted(String playbook, boolean checkMode) {
        this.playbook = playbook;
        this.checkMode = checkMode;
        this.started = System.currentTimeMillis();
    }

    @Override
    public void playStarted(Play play, List<Host> hosts) {
        this.play = play.name();
        hosts.forEach(h -> bars.computeIfAbsent(h.name(), k -> new ArrayList<>()));
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        taskStarts.put(task, System.currentTimeMillis());
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult result) {
        long now = System.currentTimeMillis();
        long from = taskStarts.getOrDefault(task, now);
        String status = result instanceof TaskResult.Ok ? "ok" : result instanceof TaskResult.Changed ? "changed"
                : result instanceof TaskResult.Skipped ? "skipped" : result instanceof TaskResult.Failed ? "failed" : "unreachable";
        bars.computeIfAbsent(host.name(), k -> new ArrayList<>()).add(new Bar(task.name(), play, status, from, now, result.message()));
        if (result.data().get(WritesRefused.KEY) instanceof WritesRefused w) {
            windows.add(w);
        }
        if (result.data().get(VERSIONS) instanceof Map<?, ?> m) {
            m.forEach((k, v) -> versions.put(String.valueOf(k), String.valueOf(v)));
        }
        if (result.data().get("report") instanceof List<?> lines && !lines.isEmpty()) {
            reports.add(new Section(host.name(), task.name(), lines.stream().map(String::valueOf).toList()));
        }
        if (result instanceof TaskResult.Failed || result instanceof TaskResult.Unreachable) {
            failures.add(new Section(host.name(), task.name(), List.of(result.message())));
        }
    }

    @Override
    public void runFinished(RunResult result) {
        write(result);
    }

    /** The page as it stands (the run's end is now when it has not finished). */
    public String html(RunResult result) {
        long end = Math.max(System.currentTimeMillis(), windows.stream().mapToLong(WritesRefused::toMillis).max().orElse(0));
        long begin = Math.min(started, windows.stream().mapToLong(WritesRefused::fromMillis).min().orElse(started));
        double span = Math.max(1, end - begin);
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("playbook", playbook);
        page.put("checkMode", checkMode);
        page.put("started", DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(Instant.ofEpochMilli(started).atZone(ZoneId.systemDefault())));
        page.put("duration", seconds(end - started));
        page.put("outcome", result == null ? "unfinished" : result.cancelled() ? "cancelled" : switch (result.exitCode()) {
            case 0 -> "ok";
            case 4 -> "host(s) unreachable";
            default -> "failed";
        });
        List<Map<String, Object>> ticks = new ArrayList<>();
        for (int i = 0; i <= 4; i++) {
            ticks.add(Map.of("left", pct(i * 25.0), "label", seconds((long) (span * i / 4))));
        }
        page.put("ticks", ticks);
        List<Map<String, Object>> hosts = new ArrayList<>();
        bars.forEach((host, list) -> {
            List<Map<String, Object>> items = new ArrayList<>();
            for (Bar b : list) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("task", b.task());
                m.put("status", b.status());
                m.put("left", pct((b.from() - begin) * 100 / span));
                m.put("width", pct(Math.max(0.25, (b.to() - b.from()) * 100 / span)));
                m.put("tip", b.play() + " / " + b.task() + ": " + b.status() + " in " + (b.to() - b.from()) + " ms at " + TIME.format(Instant.ofEpochMilli(b.from()))
                        + (b.message().isEmpty() ? "" : " - " + b.message()));
                items.add(m);
            }
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("name", host);
            h.put("bars", items);
            h.put("counts", counts(list));
            hosts.add(h);
        });
        page.put("hosts", hosts);
        List<Map<String, Object>> marks = new ArrayList<>();
        for (WritesRefused w : windows) {
            marks.add(Map.of("left", pct((w.fromMillis() - begin) * 100 / span), "width", pct(Math.max(0.25, w.millis() * 100 / span)),
                    "ms", w.millis(), "from", TIME.format(Instant.ofEpochMilli(w.fromMillis())), "to", TIME.format(Instant.ofEpochMilli(w.toMillis()))));
        }
        page.put("windows", marks);
        page.put("hasWindows", !marks.isEmpty());
        page.put("reports", sections(reports));
        page.put("hasReports", !reports.isEmpty());
        page.put("failures", sections(failures));
        page.put("hasFailures", !failures.isEmpty());
        java.util.Set<String> next = new java.util.LinkedHashSet<>(); // the same advice from several hosts once
        reports.forEach(r -> r.lines().stream().filter(l -> l.startsWith("next:") || l.startsWith("way back:")).forEach(next::add));
        page.put("next", next);
        page.put("hasNext", !next.isEmpty());
        List<Map<String, Object>> v = new ArrayList<>(); // in the hosts' order, whichever finished first
        bars.keySet().stream().filter(versions::containsKey).forEach(host -> v.add(Map.of("host", host, "text", versions.get(host))));
        versions.forEach((host, text) -> {
            if (!bars.containsKey(host)) {
                v.add(Map.of("host", host, "text", text));
            }
        });
        page.put("versions", v);
        page.put("hasVersions", !v.isEmpty());
        StringWriter out = new StringWriter();
        TEMPLATE.execute(out, page);
        return out.toString();
    }

    private void write(RunResult result) {
        String html = html(result);
        for (Path file : files) {
            try {
                Path tmp = PrivateFile.create(file.resolveSibling(file.getFileName() + ".tmp"));
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    w.write(html);
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                // the run is over and its result stands: a report that cannot be written is said in the log, not thrown
                LOG.warn("report: cannot write {}: {}", file, e.getMessage());
            }
        }
    }

    private static List<Map<String, Object>> sections(List<Section> list) {
        return list.stream().map(x -> Map.<String, Object>of("host", x.host(), "task", x.task(), "lines", x.lines(), "text", String.join("\n", x.lines())))
                .toList();
    }

    private static String counts(List<Bar> list) {
        Map<String, Integer> n = new LinkedHashMap<>();
        list.forEach(b -> n.merge(b.status(), 1, Integer::sum));
        List<String> parts = new ArrayList<>();
        n.forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(" ", parts);
    }

    private static String pct(double v) {
        return String.format(java.util.Locale.ROOT, "%.3f%%", Math.max(0, Math.min(100, v)));
    }

    private static String seconds(long ms) {
        return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
