package dev.pgplay.core.modules;

import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import java.util.List;

/**
 * Ansible's blockinfile: lines between {@code # BEGIN pgplay NAME} and {@code # END pgplay NAME}
 * markers, at the top of the file (pg_hba.conf rules match first to last) or at the end. The rest
 * of the file is left as it is; written atomically, mode and owner kept.
 */
public final class ManagedBlock implements Action {
    private final String path;
    private final String name;
    private final List<String> lines;
    private final boolean top;

    private ManagedBlock(String path, String name, List<String> lines, boolean top) {
        this.path = path;
        this.name = name;
        this.lines = List.copyOf(lines);
        this.top = top;
    }

    public static ManagedBlock atTop(String path, String name, List<String> lines) {
        return new ManagedBlock(path, name, lines, true);
    }

    public static ManagedBlock atEnd(String path, String name, List<String> lines) {
        return new ManagedBlock(path, name, lines, false);
    }

    @Override
    public TaskResult run(HostContext ctx) {
        return TextEdit.apply(ctx, path, text -> apply(text, name, lines, top), "update block " + name,
                path + ": block " + name + " up to date", text -> text);
    }

    /** The text with the block in place (pure; unit-tested). */
    static String apply(String text, String name, List<String> lines, boolean top) {
        String begin = "# BEGIN pgplay " + name;
        String end = "# END pgplay " + name;
        StringBuilder block = new StringBuilder(begin).append('\n');
        lines.forEach(l -> block.append(l).append('\n'));
        block.append(end).append('\n');
        int b = text.indexOf(begin + "\n");
        int e = text.indexOf(end + "\n", Math.max(b, 0));
        if (b >= 0 && e > b) {
            return text.substring(0, b) + block + text.substring(e + end.length() + 1);
        }
        String body = text.isEmpty() || text.endsWith("\n") ? text : text + "\n";
        return top ? block + body : body + block;
    }
}
