package dev.pgplay.playbooks;

import java.util.ArrayList;
import java.util.List;

/**
 * An /etc/hosts where {@code name} resolves to one address: the name is taken out of every other
 * line (a line left with an address only goes), and one line of pgplay's says where it leads.
 * Everything else stays as it was.
 */
record EtcHosts(String text, boolean changed) {
    static final String MARK = "# pgplay hosts-alias";

    static EtcHosts pointing(String text, String name, String address) {
        String wanted = address + " " + name + " " + MARK;
        List<String> out = new ArrayList<>();
        boolean there = false;
        for (String line : text.split("\n", -1)) {
            if (line.strip().equals(wanted) && !there) {
                there = true;
                out.add(line);
                continue;
            }
            String[] f = fields(line);
            boolean names = false;
            for (int i = 1; i < f.length; i++) {
                names |= f[i].equalsIgnoreCase(name);
            }
            if (!names) {
                out.add(line);
                continue;
            }
            List<String> kept = new ArrayList<>();
            for (int i = 1; i < f.length; i++) {
                if (!f[i].equalsIgnoreCase(name)) {
                    kept.add(f[i]);
                }
            }
            if (!kept.isEmpty()) {
                out.add(f[0] + " " + String.join(" ", kept));
            }
        }
        while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
            out.remove(out.size() - 1);
        }
        if (!there) {
            out.add(wanted);
        }
        String result = String.join("\n", out) + "\n";
        return new EtcHosts(result, !result.equals(text));
    }

    /** A line's address and names, its comment left out. */
    private static String[] fields(String line) {
        String body = line.contains("#") ? line.substring(0, line.indexOf('#')) : line;
        return body.trim().split("\\s+");
    }

    /** Where {@code name} leads in this file (the first line naming it), or "". */
    static String address(String text, String name) {
        for (String line : text.split("\n")) {
            String[] f = fields(line);
            for (int i = 1; i < f.length; i++) {
                if (f[i].equalsIgnoreCase(name)) {
                    return f[0];
                }
            }
        }
        return "";
    }
}
