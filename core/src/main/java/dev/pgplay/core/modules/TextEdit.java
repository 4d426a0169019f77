package dev.pgplay.core.modules;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The common path of the modules that edit part of an existing text file: read it (as root),
 * compute the new text, report ok when equal, changed (with a diff in diff mode) otherwise, and in
 * real mode write it back atomically keeping mode and owner.
 */
final class TextEdit {
    private TextEdit() {
    }

    /**
     * @param what   the change in words ("set x = 1", "update block replication"), used in messages
     * @param shown  the part of a text the diff shows (e.g. only the setting's line)
     */
    static TaskResult apply(HostContext ctx, String path, UnaryOperator<String> change, String what, String okMessage,
                            UnaryOperator<String> shown) {
        ExecResult meta = ctx.connection().exec(Cmd.of("stat", "-c", "%a %U:%G", path), ExecOptions.as("root"));
        if (!meta.ok()) {
            return TaskResult.failed(path + " does not exist");
        }
        String before = new String(ctx.connection().download(path), StandardCharsets.UTF_8);
        String after = change.apply(before);
        if (after.equals(before)) {
            return TaskResult.ok(okMessage);
        }
        Optional<TaskResult.Diff> diff = Optional.empty();
        if (ctx.diffMode()) {
            diff = Optional.of(new TaskResult.Diff(path, shown.apply(before), shown.apply(after)));
        }
        if (ctx.checkMode()) {
            return new TaskResult.Changed("would " + what + " in " + path, List.of("edit " + path), diff, Map.of());
        }
        String[] m = meta.out().split(" ");
        ctx.connection().upload(after.getBytes(StandardCharsets.UTF_8), path, m[0], m[1]);
        return new TaskResult.Changed(what + " in " + path, List.of("edit " + path), diff, Map.of());
    }
}
