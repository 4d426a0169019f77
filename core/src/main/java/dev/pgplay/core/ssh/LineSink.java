package dev.pgplay.core.ssh;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A remote command's output as lines, read against a deadline: what a kept {@link Shell} and an
 * {@link Interactive} session both read their answers from. When the channel closes, the lines
 * end with {@link #EOF}, which stays there for every later read.
 */
final class LineSink extends OutputStream {
    /** Returned by {@link #next} once the output ended. */
    static final String EOF = "\u0000eof";

    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    /**
     * The next line; {@link #EOF} (compare by identity) once the output ended; null when none came
     * before {@code deadline} ({@link System#nanoTime()} based).
     */
    String next(long deadline) throws InterruptedException {
        long left = deadline - System.nanoTime();
        String l = left <= 0 ? lines.poll() : lines.poll(left, TimeUnit.NANOSECONDS);
        if (l == EOF) {
            lines.offer(EOF); // stays ended for later reads
        }
        return l;
    }

    /** The lines already there, without the end marker. */
    String drain() {
        List<String> out = new ArrayList<>();
        lines.drainTo(out);
        if (out.remove(EOF)) {
            lines.offer(EOF);
        }
        return String.join("\n", out);
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            lines.offer(line.toString(StandardCharsets.UTF_8));
            line.reset();
        } else {
            line.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }

    @Override
    public synchronized void close() {
        if (line.size() > 0) {
            lines.offer(line.toString(StandardCharsets.UTF_8));
            line.reset();
        }
        lines.offer(EOF);
    }
}
