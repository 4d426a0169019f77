package dev.pgplay.core.modules;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Action;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Ansible's copy (with content) and template: a file with exactly this content, mode and owner,
 * written atomically. Compares a checksum first, so an unchanged file is ok; diff mode shows
 * before and after.
 */
public final class FileContent implements Action {
    private final String path;
    private final String content;
    private final String mode;
    private final String owner;
    private final boolean sensitive;

    private FileContent(String path, String content, String mode, String owner) {
        this(path, content, mode, owner, false);
    }

    private FileContent(String path, String content, String mode, String owner, boolean sensitive) {
        this.path = path;
        this.content = content;
        this.mode = mode;
        this.owner = owner;
        this.sensitive = sensitive;
    }

    /** The content is a secret (a .pgpass, a key): diff mode says that it changed, never what. */
    public FileContent sensitive() {
        return new FileContent(path, content, mode, owner, true);
    }

    /** {@code owner} is "user" or "user:group"; {@code mode} octal like "0644". */
    public static FileContent of(String path, String content, String mode, String owner) {
        return new FileContent(path, content, mode, owner);
    }

    /** A template: {@code {{name}}} placeholders filled from the host's vars (extra vars first). */
    public static FileContent template(String path, String template, String mode, String owner, HostVarsResolver vars) {
        return new FileContent(path, template, mode, owner).resolvedBy(vars);
    }

    /** Resolves {@code {{name}}} in a template from a host's vars. */
    @FunctionalInterface
    public interface HostVarsResolver {
        String resolve(String name);
    }

    private FileContent resolvedBy(HostVarsResolver vars) {
        StringBuilder sb = new StringBuilder();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{\\{\\s*([A-Za-z0-9_.-]+)\\s*}}").matcher(content);
        while (m.find()) {
            String value = vars.resolve(m.group(1));
            if (value == null) {
                throw new IllegalArgumentException("template for " + path + ": no var " + m.group(1));
            }
            m.appendReplacement(sb, java.util.regex.Matcher.quoteReplacement(value));
        }
        m.appendTail(sb);
        return new FileContent(path, sb.toString(), mode, owner);
    }

    @Override
    public TaskResult run(HostContext ctx) {
        ExecResult stat = ctx.connection().exec(
                Cmd.raw("f=" + Cmd.quote(path) + "; test -e \"$f\" && { sha256sum \"$f\" | cut -c1-64; stat -c '%a %U:%G' \"$f\"; }"),
                ExecOptions.as("root"));
        String wantedOwner = owner.contains(":") ? owner : owner + ":" + owner;
        String wantedMode = Integer.toOctalString(Integer.parseInt(mode, 8));
        boolean exists = stat.ok();
        if (exists && stat.out().equals(sha256(content) + "\n" + wantedMode + " " + wantedOwner)) {
            return TaskResult.ok(path + " is up to date");
        }
        Optional<TaskResult.Diff> diff = Optional.empty();
        if (ctx.diffMode()) {
            String before = sensitive ? (exists ? "(secret content)\n" : "") : exists ? new String(ctx.connection().download(path), StandardCharsets.UTF_8) : "";
            diff = Optional.of(new TaskResult.Diff(path, before, sensitive ? "(new secret content)\n" : content));
        }
        String message = (exists ? "update " : "create ") + path;
        if (ctx.checkMode()) {
            return new TaskResult.Changed("would: " + message, List.of("write " + path), diff, Map.of());
        }
        ctx.connection().upload(content.getBytes(StandardCharsets.UTF_8), path, mode, owner);
        return new TaskResult.Changed(message, List.of("write " + path + " (" + mode + " " + wantedOwner + ")"), diff, Map.of());
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
