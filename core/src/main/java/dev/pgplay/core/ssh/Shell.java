package dev.pgplay.core.ssh;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.sshd.client.channel.ChannelExec;

/**
 * A shell kept running on a host (as the login user or, through become, as another user) that
 * runs one command after another, each framed by a random marker, as Mitogen and pyinfra's
 * persistent connections do: a command costs a write and its output, not a new SSH channel,
 * a login shell and sudo. Each command still runs as its own child with its standard input from
 * /dev/null (it cannot read the next command) and its own process group.
 *
 * <p>The kept shell is bash when the host has it, with job control on so that each command's job
 * gets a process group of its own (one fork and the exec of {@code sh} per command); without bash
 * it is sh, and {@code setsid} makes the group. The shell keeps the running command's group id in
 * a file of its own ({@link #groupFile}), so a timeout ends all of the command's processes.
 *
 * <p>Output comes back as lines: stdout ends with an empty line's newline and {@code MARKER RC},
 * stderr with {@code MARKER}. A shell whose command timed out or whose output broke the framing
 * is never used again.
 */
final class Shell implements AutoCloseable {
    private final String host;
    private final ChannelExec channel;
    private final OutputStream stdin;
    private final LineSink out;
    private final LineSink err;
    private final String groupFile = "/tmp/.pgplay-" + UUID.randomUUID() + ".pgid";
    private volatile boolean usable = true;

    /**
     * The command line the kept shell starts with: bash when there is one, else sh. Read by the
     * login user's shell first, which may be csh: only {@code exec sh -c '...'} reaches it.
     */
    static final String START = "exec sh -c " + Cmd.quote("command -v bash >/dev/null 2>&1 && exec bash; exec sh");

    private Shell(String host, ChannelExec channel, OutputStream stdin, LineSink out, LineSink err) {
        this.host = host;
        this.channel = channel;
        this.stdin = stdin;
        this.out = out;
        this.err = err;
    }

    /** A shell started with {@link #START} on {@code channel}, set up to run framed commands. */
    static Shell started(String host, ChannelExec channel, OutputStream stdin, LineSink out, LineSink err) {
        Shell shell = new Shell(host, channel, stdin, out, err);
        shell.write("if [ -n \"${BASH_VERSION:-}\" ]; then set -m; pgplay_group=; else pgplay_group='setsid -w'; fi; trap "
                + Cmd.quote("rm -f " + shell.groupFile) + " EXIT\n", "start a shell");
        return shell;
    }

    /** Where the shell keeps the process group id of the command it runs. */
    String groupFile() {
        return groupFile;
    }

    boolean usable() {
        return usable && channel.isOpen();
    }

    /** What a framed command left: exit status and both outputs, exactly. */
    record Result(int exitStatus, String stdout, String stderr) {
    }

    /**
     * Runs {@code line} (a complete shell command line) and waits at most {@code limit}. A timeout
     * leaves the shell unusable and throws {@link CommandTimeoutException}; a shell that ended
     * first (the session dropped) throws {@link UnreachableException}.
     */
    Result run(String line, String what, Duration limit, Consumer<String> onLine) {
        String marker = "pgplay-end-" + UUID.randomUUID();
        // the group file made anew with noclobber (O_EXCL) for each command: one planted meanwhile is not written through
        write("$pgplay_group sh -c " + Cmd.quote(line) + " </dev/null & rm -f " + groupFile + "; (set -C; echo $! > " + groupFile
                + ") 2>/dev/null; wait $! 2>/dev/null; printf '\\n%s %s\\n' "
                + marker + " $?; printf '\\n%s\\n' " + marker + " >&2\n", what);
        long deadline = System.nanoTime() + limit.toNanos();
        List<String> lines = new ArrayList<>();
        String pending = null;
        int status;
        while (true) {
            String l = next(out, deadline, what, limit);
            if (l == null) {
                return ended(lines, what);
            }
            if (l.startsWith(marker + " ")) {
                status = Integer.parseInt(l.substring(marker.length() + 1).trim());
                if (onLine != null && pending != null && !pending.isEmpty()) {
                    onLine.accept(pending);
                }
                break;
            }
            if (onLine != null && pending != null) {
                onLine.accept(pending);
            }
            pending = l;
            lines.add(l);
        }
        List<String> errLines = new ArrayList<>();
        while (true) {
            String l = next(err, deadline, what, limit);
            if (l == null) {
                return ended(lines, what);
            }
            if (l.equals(marker)) {
                break;
            }
            errLines.add(l);
        }
        // the frame's own newline ends the output's last line: the lines joined are the output, exactly
        return new Result(status, String.join("\n", lines), String.join("\n", errLines));
    }

    private void write(String text, String what) {
        try {
            stdin.write(text.getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            usable = false;
            throw new UnreachableException(host + ": connection lost while running `" + what + "`: " + e.getMessage(), e);
        }
    }

    /**
     * The shell ended before the marker. With an exit status (sudo refused to start it, say) that
     * is the command's result, as it would have been on a channel of its own; without one the
     * session dropped and whether the command ran is unknown: unreachable.
     */
    private Result ended(List<String> lines, String what) {
        usable = false;
        Integer status = channel.getExitStatus();
        if (status == null && channel.getExitSignal() == null) {
            throw new UnreachableException(host + ": connection lost while running `" + what + "` (no exit status)", null);
        }
        String errText = err.drain();
        if (status == null) {
            errText += (errText.isEmpty() ? "" : "\n") + "killed by signal " + channel.getExitSignal();
            status = -1;
        }
        return new Result(status, String.join("\n", lines), errText);
    }

    /** The next line, or null when the shell ended; a timeout leaves the shell unusable. */
    private String next(LineSink sink, long deadline, String what, Duration limit) {
        String l;
        try {
            l = sink.next(deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            usable = false;
            throw new IllegalStateException(host + ": interrupted while running `" + what + "`", e);
        }
        if (l == null) {
            usable = false;
            throw new CommandTimeoutException(host, what, limit);
        }
        return l == LineSink.EOF ? null : l;
    }

    @Override
    public void close() {
        usable = false;
        try {
            stdin.close();
        } catch (IOException e) {
            // gone anyway
        }
        channel.close(false);
    }
}
