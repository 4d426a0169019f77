package dev.pgplay.core.modules;

import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import java.util.List;

/**
 * Ansible's blockinfile: lines between {@code # BEGIN pgplay NAME} and {@code # END pgplay NAME}
 * markers, at the top of the file (pg_hba.conf rules match first to last) or at the end. The rest
 * of the file is left as it is; written atomically, mode and owner kept. {@link #absent} takes
 * the block out (state=absent).
 */
public final class ManagedBlock implements Action {
    private final String path;
    private final String name;
    private final List<String> lines;
    private final boolean top;
    private final String mode;

    private ManagedBlock(String path, String name, List<String> lines, boolean top, String mode) {
        this.path = path;
        this.name = name;
        this.lines = lines == null ? null : List.copyOf(lines);
        this.top = top;
        this.mode = mode;
    }

    private ManagedBlock(String path, String name, List<String> lines, boolean top) {
        this(path, name, lines, top, null);
    }

    /** The file ends with {@code mode} (a file holding a secret, such as a .pgpass): a looser mode is tightened. */
    public ManagedBlock mode(String mode) {
        if (!mode.matches("0?[0-7]{3}")) {
            throw new IllegalArgumentException("mode " + mode);
        }
        return new ManagedBlock(path, name, lines, top, mode);
    }

    public static ManagedBlock atTop(String path, String name, List<String> lines) {
        return new ManagedBlock(path, name, lines, true);
    }

    public static ManagedBlock atEnd(String path, String name, List<String> lines) {
        return new ManagedBlock(path, name, lines, false);
    }

    /** The block taken out of the file, markers and all; the rest left as it is. */
    public static ManagedBlock absent(String path, String name) {
        return new ManagedBlock(path, name, null, true);
    }

    @Override
    public TaskResult run(HostContext ctx) {
        return TextEdit.apply(ctx, path, text -> apply(text, name, lines, top), (lines == null ? "remove block " : "update block ") + name,
                path + ": block " + name + (lines == null ? " absent" : " up to date"), text -> text, mode);
    }

    /** The text with the block in place, or without it when {@code lines} is null (pure; unit-tested). */
    static String apply(String text, String name, List<String> lines, boolean top) {
        String begin = "# BEGIN pgplay " + name;
        String end = "# END pgplay " + name;
        StringBuilder block = new StringBuilder();
        if (lines != null) {
            block.append(begin).append('\n');
            lines.forEach(l -> block.append(l).append('\n'));
            block.append(end).append('\n');
        }
        int b = text.indexOf(begin + "\n");
        int e = text.indexOf(end + "\n", Math.max(b, 0));
        if (b >= 0 && e > b) {
            return text.substring(0, b) + block + text.substring(e + end.length() + 1);
        }
        if (lines == null) {
            return text;
        }
        String body = text.isEmpty() || text.endsWith("\n") ? text : text + "\n";
        return top ? block + body : body + block;
    }
}
