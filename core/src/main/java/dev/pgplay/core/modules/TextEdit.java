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
 *
 * <p>Files edited as root often sit in directories another user owns (pg_hba.conf under
 * /etc/postgresql, .pgpass in postgres's home): only a regular file with one link is edited, it
 * is read without following a link (O_NOFOLLOW), its mode is never taken from a link, and the new
 * text is written to a fresh file made exclusively beside it, then renamed over it
 * ({@link dev.pgplay.core.ssh.Connection#upload}).
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
        return apply(ctx, path, change, what, okMessage, shown, null);
    }

    /** {@code mode} non-null: the file ends with that mode (a file holding a secret), a looser one is tightened. */
    static TaskResult apply(HostContext ctx, String path, UnaryOperator<String> change, String what, String okMessage,
                            UnaryOperator<String> shown, String mode) {
        // one exec: what the path is (lstat: a link is a link) and, for a regular file, its bytes read with O_NOFOLLOW
        ExecResult read = ctx.connection().exec(Cmd.of("sh", "-c", "LC_ALL=C stat -c '%F|%h|%a|%U:%G' -- \"$1\" || exit 3; "
                + "[ -f \"$1\" ] && [ ! -L \"$1\" ] || exit 0; exec dd if=\"$1\" iflag=nofollow status=none", "sh", path), ExecOptions.as("root"));
        if (read.exitStatus() == 3) {
            return TaskResult.failed(path + " does not exist");
        }
        if (!read.ok()) {
            return TaskResult.failed(path + " could not be read: " + read.stderr().strip());
        }
        String out = read.stdout();
        int nl = out.indexOf('\n');
        String[] meta = (nl < 0 ? out : out.substring(0, nl)).split("\\|");
        String refusal = refusal(path, meta);
        if (refusal != null) {
            return TaskResult.failed(refusal);
        }
        String before = out.substring(nl + 1);
        String after = change.apply(before);
        boolean loose = mode != null && !sameMode(meta[2], mode);
        if (after.equals(before) && !loose) {
            return TaskResult.ok(okMessage);
        }
        if (after.equals(before)) {
            what = "tighten the mode to " + mode;
        }
        Optional<TaskResult.Diff> diff = Optional.empty();
        if (ctx.diffMode()) {
            diff = Optional.of(new TaskResult.Diff(path, shown.apply(before), shown.apply(after)));
        }
        if (ctx.checkMode()) {
            return new TaskResult.Changed("would " + what + " in " + path, List.of("edit " + path), diff, Map.of());
        }
        ctx.connection().upload(after.getBytes(StandardCharsets.UTF_8), path, mode != null ? mode : meta[2], meta[3]);
        return new TaskResult.Changed(what + " in " + path, List.of("edit " + path), diff, Map.of());
    }

    /** Why {@code path} (stat's type, links, mode, owner) is not edited, or null: only a regular file with one link is. */
    static String refusal(String path, String[] meta) {
        if (meta.length < 4) {
            return path + ": unexpected stat output " + String.join("|", meta);
        }
        if (!meta[0].equals("regular file") && !meta[0].equals("regular empty file")) {
            return path + " is a " + meta[0] + ", not a regular file: refusing to edit it as root (a link could lead the edit to any file); "
                    + "replace it with the file itself";
        }
        if (!meta[1].equals("1")) {
            return path + " has " + meta[1] + " hard links: refusing to edit it as root (another name of the same file could be anywhere); "
                    + "replace it with a copy of its own";
        }
        return null;
    }

    private static boolean sameMode(String a, String b) {
        return Integer.parseInt(a, 8) == Integer.parseInt(b, 8);
    }
}
