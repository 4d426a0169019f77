package dev.pgplay.playbooks;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code [databases]} section of a pgbouncer.ini, re-pointed: every entry whose
 * {@code host=} is one of the cluster's nodes gets the new primary's address; every other line
 * (other sections, comments, entries for other servers, the order) stays as the user wrote it.
 * PgBouncer has no command to change a target: the file is edited and {@code RELOAD}ed.
 */
record PgBouncerIni(String text, List<String> changed) {
    private static final Pattern SECTION = Pattern.compile("^\\s*\\[([^\\]]*)\\]\\s*$");
    private static final Pattern ENTRY = Pattern.compile("^(\\s*([^=;#\\s][^=]*?)\\s*=\\s*)(.*)$");
    /** host=VALUE in a libpq-style connection string: a bare word or a single-quoted value. */
    private static final Pattern HOST = Pattern.compile("(^|\\s)(host\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|[^\\s']+)");

    /** {@code text} with the entries that lead to one of {@code nodes} leading to {@code address}. */
    static PgBouncerIni repoint(String text, Set<String> nodes, String address) {
        String[] lines = text.split("\n", -1);
        List<String> changed = new ArrayList<>();
        scan(lines, (i, entry, host) -> {
            String value = unquote(host.group(3));
            if (nodes.contains(value) && !value.equals(address)) {
                lines[i] = entry.group(1) + entry.group(3).substring(0, host.start(3)) + address + entry.group(3).substring(host.end(3));
                changed.add(entry.group(2).trim());
            }
        });
        return new PgBouncerIni(String.join("\n", lines), changed);
    }

    /** The distinct hosts the {@code [databases]} entries lead to. */
    static Set<String> hosts(String text) {
        Set<String> hosts = new java.util.LinkedHashSet<>();
        scan(text.split("\n"), (i, entry, host) -> hosts.add(unquote(host.group(3))));
        return hosts;
    }

    private interface EntryWithHost {
        void at(int line, Matcher entry, Matcher host);
    }

    /** Each {@code [databases]} entry with a {@code host=}: its line number, the entry and the host matched in it. */
    private static void scan(String[] lines, EntryWithHost each) {
        boolean inDatabases = false;
        for (int i = 0; i < lines.length; i++) {
            Matcher section = SECTION.matcher(lines[i]);
            if (section.matches()) {
                inDatabases = section.group(1).trim().equalsIgnoreCase("databases");
                continue;
            }
            Matcher entry = ENTRY.matcher(lines[i]);
            if (inDatabases && entry.matches()) {
                Matcher host = HOST.matcher(entry.group(3));
                if (host.find()) {
                    each.at(i, entry, host);
                }
            }
        }
    }

    private static String unquote(String v) {
        return v.startsWith("'") && v.endsWith("'") && v.length() >= 2 ? v.substring(1, v.length() - 1).replace("\\'", "'").replace("\\\\", "\\") : v;
    }
}
