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
        return lastLines(text, 5);
    }

    /** The last {@code n} non-blank lines of a command's output on one line, for messages. */
    public static String lastLines(String text, int n) {
        java.util.List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
