package dev.pgplay.core.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.sshd.client.channel.ChannelExec;

/**
 * A remote command kept running and fed its standard input piece by piece (for example a psql
 * session opened before a critical step, so each statement costs one network round trip, not a
 * new SSH channel, sudo and psql start). Obtain from {@link Connection#interactive}; each
 * {@link #request} writes input and returns the output lines up to a marker line.
 */
public final class Interactive implements AutoCloseable {
    private final String host;
    private final String what;
    private final ChannelExec channel;
    private final OutputStream stdin;
    private final LineSink lines;
    private final ByteArrayOutputStream stderr;
    private volatile String broken;

    Interactive(String host, String what, ChannelExec channel, OutputStream stdin, LineSink lines, ByteArrayOutputStream stderr) {
        this.host = host;
        this.what = what;
        this.channel = channel;
        this.stdin = stdin;
        this.lines = lines;
        this.stderr = stderr;
    }

    /**
     * Writes {@code input} and waits (at most {@code limit}) for a line equal to {@code marker};
     * returns the lines before it. A command that ended first fails with its error output; no
     * marker in time is a {@link CommandTimeoutException}; a lost session is unreachable.
     */
    public List<String> request(String input, String marker, Duration limit) {
        if (broken != null) {
            throw new IllegalStateException(host + ": `" + what + "` is not usable after " + broken);
        }
        try {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw new UnreachableException(host + ": lost the session of `" + what + "`: " + e.getMessage(), e);
        }
        List<String> out = new ArrayList<>();
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String line;
            try {
                line = lines.next(deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(host + ": interrupted while waiting for `" + what + "`", e);
            }
            if (line == null) {
                broken = "a request that timed out (its answer may still come)";
                throw new CommandTimeoutException(host, what, limit);
            }
            if (line == LineSink.EOF) {
                String err = stderr.toString(StandardCharsets.UTF_8).strip();
                if (!channel.isOpen() && channel.getExitStatus() == null && channel.getExitSignal() == null) {
                    throw new UnreachableException(host + ": connection lost in `" + what + "` (no exit status)", null);
                }
                throw new IllegalStateException(host + ": `" + what + "` ended" + (err.isEmpty() ? "" : ": " + err));
            }
            if (line.equals(marker)) {
                return out;
            }
            out.add(line);
        }
    }

    @Override
    public void close() {
        try {
            stdin.close(); // end of input: the command ends by itself
        } catch (IOException e) {
            // the channel is gone anyway
        }
        channel.close(false);
    }
}
