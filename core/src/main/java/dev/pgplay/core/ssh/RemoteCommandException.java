package dev.pgplay.core.ssh;

/** A remote command exited non-zero where success was required. */
public final class RemoteCommandException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient ExecResult result;

    public RemoteCommandException(String host, ExecResult result) {
        super(host + ": `" + result.command() + "` exited " + result.exitStatus()
                + (result.stderr().isBlank() ? "" : ": " + lastLines(result.stderr())));
        this.result = result;
    }

    public ExecResult result() {
        return result;
    }

    /** The last few lines of a command's output on one line, for messages. */
    public static String lastLines(String text) {
        String[] lines = text.strip().split("\n");
        int from = Math.max(0, lines.length - 5);
        return String.join(" | ", java.util.Arrays.copyOfRange(lines, from, lines.length));
    }
}
