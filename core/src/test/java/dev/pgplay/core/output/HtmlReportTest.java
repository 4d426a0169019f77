package dev.pgplay.core.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.run.WritesRefused;
import dev.pgplay.core.ssh.ScriptedTransport;
import dev.pgplay.inventory.Inventory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run report of a real run of the runner (over the scripted transport), opened in Debian's
 * headless Chromium: the DOM it renders has one timeline row per host, the writes-refused span
 * marked with its duration, and the failure and next steps; a screenshot is kept in target/.
 */
class HtmlReportTest {
    @TempDir
    Path dir;

    @Test
    void aRunOpensInChromiumWithARowPerHostAndTheWindowMarked() throws Exception {
        Inventory inventory = Inventory.parse("""
                hosts { db1 { address = 10.0.0.1 }, db2 { address = 10.0.0.2 }, db3 { address = 10.0.0.3 } }
                groups { all3 { hosts = [db1, db2, db3] } }
                """, "hosts.conf", dir);
        Path file = dir.resolve("run.html");
        long[] blocked = new long[1];
        Play play = Play.of("upgrade", "all3")
                .task(Task.of("prepare", ctx -> TaskResult.ok("ready")))
                .task(Task.of("block writes", ctx -> {
                    blocked[0] = System.currentTimeMillis();
                    Thread.sleep(150);
                    return TaskResult.changed("blocked", List.of());
                }).when(ctx -> ctx.host().name().equals("db1")))
                .task(Task.of("open writes", ctx -> new TaskResult.Changed("opened", List.of(), java.util.Optional.empty(),
                        Map.of(WritesRefused.KEY, new WritesRefused(blocked[0], System.currentTimeMillis())))).when(ctx -> ctx.host().name().equals("db1")))
                .task(Task.of("check <b>", ctx -> ctx.host().name().equals("db2") ? TaskResult.failed("db2 said <script>alert(1)</script>") : TaskResult.ok("fine")))
                .task(Task.of("report", ctx -> TaskResult.ok("done", Map.of("report", List.of("db1 15.18 -> 15.20", "next: check the applications"),
                        HtmlReport.VERSIONS, Map.of(ctx.host().name(), "15.18 -> 15.20")))));
        RunResult r = Runner.builder(inventory).transport(new ScriptedTransport()).listener(new HtmlReport(file)).build().run("rolling-minor", List.of(play));
        assertEquals(2, r.exitCode());
        String html = Files.readString(file, StandardCharsets.UTF_8);
        assertFalse(html.contains("<script>"), "server text is escaped");
        assertFalse(html.matches("(?s).*(https?:)?//[a-z].*"), "nothing is fetched: the page opens offline");

        Path shot = Path.of("target", "report-screenshot.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        String dom = chromium("--dump-dom", file.toUri().toString());
        chromium("--screenshot=" + shot, "--window-size=1280,720", file.toUri().toString());
        assertTrue(Files.size(shot) > 10_000, "a screenshot was taken: " + shot);
        System.out.println("report screenshot: " + shot);

        Document doc = Jsoup.parse(dom);
        List<String> rows = doc.select("#timeline .row").stream().map(e -> e.attr("data-host")).toList();
        assertEquals(List.of("db1", "db2", "db3"), rows, "one row per host, in order");
        assertEquals(5, doc.select(".row[data-host=db1] .bar").size(), "db1 ran every task");
        assertEquals(1, doc.select(".row[data-host=db2] .bar.failed").size());
        assertEquals(2, doc.select(".row[data-host=db2] .bar.skipped").size(), "the tasks db2 skipped are drawn too");
        Element window = doc.selectFirst("#timeline .window");
        assertTrue(window != null, dom);
        long ms = Long.parseLong(window.attr("data-ms"));
        assertTrue(ms >= 150, "the window spans at least the block: " + ms);
        assertEquals("writes refused " + ms + " ms", window.text());
        assertEquals("failed", doc.selectFirst("#outcome").text());
        assertTrue(doc.select(".failure").text().contains("db2 said <script>alert(1)</script>"), "the failure, shown as text");
        assertEquals(List.of("next: check the applications"), doc.select("ul.next li").eachText());
        assertEquals(List.of("db1 15.18 -> 15.20", "db3 15.18 -> 15.20"), doc.select("table.versions tr").eachText());
        assertEquals("db1 15.18 -> 15.20\nnext: check the applications", doc.selectFirst("pre.report").wholeText(), "report lines kept as lines");
    }

    /** Runs Debian's chromium headless on a file; its standard output. */
    static String chromium(String... args) throws Exception {
        String bin = Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium" : null;
        assertTrue(bin != null, "chromium is not installed (apt-get install chromium; .ci/run installs it)");
        List<String> cmd = new java.util.ArrayList<>(List.of(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + Files.createTempDirectory("chromium")));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "chromium did not finish within 60 s");
        assertEquals(0, p.exitValue(), "chromium " + cmd);
        return out;
    }
}
