package dev.pgplay.postgres;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Carries a postgresql.conf (or a conf.d file, or postgresql.auto.conf) from the old major to the
 * new one: settings the new cluster must own (paths, port, cluster name) take the new values,
 * parameters the new major no longer has are commented out and reported, the rest is kept as
 * written (paths of the old version's directories follow the new version).
 */
public final class ConfigCarry {
    private static final Pattern SETTING = Pattern.compile("^\\s*([A-Za-z_][A-Za-z0-9_.]*)\\s*(=\\s*|\\s+)(.*)$");
    private static final Set<String> DIRECTIVES = Set.of("include", "include_dir", "include_if_exists");

    public record Result(String text, List<String> removed) {
    }

    /**
     * @param text       the old file
     * @param known      parameter names of the new major (postgres --describe-config), lower case
     * @param owned      settings the new cluster must have, name -> value (written quoted)
     * @param dropped    settings left out entirely (e.g. the read-only switch of an upgrade)
     */
    public static Result carry(String text, Set<String> known, Map<String, String> owned, Set<String> dropped,
                        String oldVersion, String newVersion) {
        return carry(text, known, owned, dropped, oldVersion, newVersion, true);
    }

    /** {@code appendMissing} false for include files: they only rewrite the owned settings they have. */
    public static Result carry(String text, Set<String> known, Map<String, String> owned, Set<String> dropped,
                        String oldVersion, String newVersion, boolean appendMissing) {
        Map<String, String> missing = new LinkedHashMap<>(owned);
        List<String> removed = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            Matcher m = SETTING.matcher(line);
            if (!m.matches() || line.trim().startsWith("#")) {
                out.append(line).append('\n');
                continue;
            }
            String name = m.group(1).toLowerCase(Locale.ROOT);
            if (DIRECTIVES.contains(name)) {
                out.append(line).append('\n');
            } else if (owned.containsKey(name)) {
                if (missing.remove(name) != null) {
                    out.append(name).append(" = ").append(quote(owned.get(name))).append("\t# set by pgplay for ").append(newVersion).append('\n');
                } else {
                    out.append("#").append(line).append("\t# pgplay: set above\n");
                }
            } else if (dropped.contains(name)) {
                out.append("#").append(line).append("\t# pgplay: not carried over\n");
            } else if (!name.contains(".") && !known.contains(name)) {
                removed.add(line.trim());
                out.append("#").append(line).append("\t# pgplay: not a parameter of PostgreSQL ").append(newVersion).append('\n');
            } else {
                out.append(line.replace("/postgresql/" + oldVersion + "/", "/postgresql/" + newVersion + "/")
                        .replace("/postgresql/" + oldVersion + "-", "/postgresql/" + newVersion + "-")).append('\n');
            }
        }
        String body = out.toString();
        if (body.endsWith("\n\n")) {
            body = body.substring(0, body.length() - 1);
        }
        if (appendMissing && !missing.isEmpty()) {
            StringBuilder tail = new StringBuilder(body.isEmpty() || body.endsWith("\n") ? body : body + "\n");
            missing.forEach((k, v) -> tail.append(k).append(" = ").append(quote(v)).append("\t# set by pgplay for ").append(newVersion).append('\n'));
            body = tail.toString();
        }
        return new Result(body, removed);
    }

    public static String quote(String value) {
        return value.matches("-?\\d+") ? value : "'" + value.replace("'", "''") + "'";
    }

    /** Names from {@code postgres --describe-config} (tab-separated, name first). */
    public static Set<String> parameterNames(String describeConfig) {
        Set<String> names = new java.util.HashSet<>();
        for (String line : describeConfig.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab > 0) {
                names.add(line.substring(0, tab).toLowerCase(Locale.ROOT));
            }
        }
        return names;
    }
}
