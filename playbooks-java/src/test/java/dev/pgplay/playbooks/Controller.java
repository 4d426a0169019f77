package dev.pgplay.playbooks;

import dev.pgplay.cli.Main;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code playbook} CLI in a JVM of its own, as a sysadmin runs it, so a test can SIGKILL it
 * at a chosen moment: when its events file shows a task starting, plus a delay.
 */
final class Controller implements AutoCloseable {
    private final Process process;
    private final Path events;
    private final Path output;
    private long read;

    private Controller(Process process, Path events, Path output) {
        this.process = process;
        this.events = events;
        this.output = output;
    }

    /** Starts {@code playbook NAME INVENTORY ARGS... --events FILE} in a new JVM. */
    static Controller start(Path dir, String playbook, Path inventory, String... args) throws IOException {
        Files.createDirectories(dir);
        Path events = Files.createTempFile(dir, "events-", ".jsonl");
        Path output = Files.createTempFile(dir, "out-", ".txt");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), playbook, inventory.toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--events", events.toString(), "--log-dir", dir.resolve("logs").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        return new Controller(p, events, output);
    }

    /**
     * Waits until a task whose name starts with {@code taskPrefix} has started (its event written),
     * at most {@code timeoutMillis}; false when the run ended or the time passed first.
     */
    boolean awaitTaskStart(String taskPrefix, long timeoutMillis) throws IOException, InterruptedException {
        String needle = "\"event\":\"task_started\",\"task\":\"" + taskPrefix;
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        StringBuilder seen = new StringBuilder();
        while (System.nanoTime() < deadline) {
            try (RandomAccessFile f = new RandomAccessFile(events.toFile(), "r")) {
                if (f.length() > read) {
                    f.seek(read);
                    byte[] b = new byte[(int) (f.length() - read)];
                    f.readFully(b);
                    read += b.length;
                    seen.append(new String(b, StandardCharsets.UTF_8));
                    if (seen.indexOf(needle) >= 0) {
                        return true;
                    }
                }
            }
            if (!process.isAlive()) {
                return false;
            }
            Thread.sleep(1);
        }
        return false;
    }

    /** SIGKILL: the JVM gets no chance to clean up, as when a controller machine dies. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    boolean alive() {
        return process.isAlive();
    }

    String output() throws IOException {
        return Files.readString(output);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
