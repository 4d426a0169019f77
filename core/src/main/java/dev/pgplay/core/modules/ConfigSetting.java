package dev.pgplay.core.modules;

import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One {@code key = value} setting in a config file such as postgresql.conf (Ansible's lineinfile
 * for settings): the first active line for the key is replaced, a commented default is replaced in
 * place, else the line is appended. Other lines are kept as they are; the file is written
 * atomically with its mode and owner unchanged. Diff mode shows the line before and after.
 */
public final class ConfigSetting implements Action {
    private final String path;
    private final String key;
    private final String value;

    private ConfigSetting(String path, String key, String value) {
        this.path = path;
        this.key = key;
        this.value = value;
    }

    /** {@code value} is written as given: quote strings yourself ({@code "'replica'"}). */
    public static ConfigSetting of(String path, String key, String value) {
        if (!key.matches("[A-Za-z0-9_.]+")) {
            throw new IllegalArgumentException("setting: bad key " + key);
        }
        if (value.contains("\n")) {
            throw new IllegalArgumentException("setting " + key + ": value must be one line");
        }
        return new ConfigSetting(path, key, value);
    }

    @Override
    public TaskResult run(HostContext ctx) {
        String wanted = key + " = " + value;
        return TextEdit.apply(ctx, path, text -> apply(text, key, value), "set " + wanted, wanted,
                text -> currentLine(text, key));
    }

    /** The file text with the setting applied (pure; unit-tested). */
    static String apply(String text, String key, String value) {
        String wanted = key + " = " + value;
        Pattern active = Pattern.compile("^\\s*" + Pattern.quote(key) + "\\s*=.*$");
        Pattern commented = Pattern.compile("^\\s*#\\s*" + Pattern.quote(key) + "\\s*=.*$");
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        boolean trailingNewline = text.endsWith("\n");
        if (trailingNewline) {
            lines.remove(lines.size() - 1);
        }
        int activeAt = -1;
        int commentedAt = -1;
        for (int i = 0; i < lines.size(); i++) {
            String withoutComment = stripComment(lines.get(i));
            if (active.matcher(withoutComment).matches()) {
                activeAt = i; // the last one wins in postgresql.conf
            } else if (commentedAt < 0 && commented.matcher(lines.get(i)).matches()) {
                commentedAt = i;
            }
        }
        if (activeAt >= 0) {
            String current = stripComment(lines.get(activeAt)).trim();
            if (normalise(current).equals(normalise(wanted))) {
                return text;
            }
            lines.set(activeAt, wanted);
        } else if (commentedAt >= 0) {
            lines.set(commentedAt, wanted);
        } else {
            lines.add(wanted);
        }
        return String.join("\n", lines) + "\n";
    }

    private static String currentLine(String text, String key) {
        Pattern active = Pattern.compile("^\\s*" + Pattern.quote(key) + "\\s*=.*$");
        String found = "";
        for (String line : text.split("\n")) {
            if (active.matcher(stripComment(line)).matches()) {
                found = line.trim();
            }
        }
        return found;
    }

    private static String stripComment(String line) {
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\'') {
                quoted = !quoted;
            } else if (c == '#' && !quoted) {
                return line.substring(0, i);
            }
        }
        return line;
    }

    private static String normalise(String setting) {
        int eq = setting.indexOf('=');
        return setting.substring(0, eq).trim() + "=" + setting.substring(eq + 1).trim();
    }
}
