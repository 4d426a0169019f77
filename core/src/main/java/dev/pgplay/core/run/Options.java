package dev.pgplay.core.run;

import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Checks the options given to a playbook against those it declares, before any host is contacted. */
public final class Options {
    private Options() {
    }

    /**
     * The {@code -e} values, checked and in their one spelling. An unknown {@code -e} key, a value
     * of the wrong type, or a declared option set in the inventory's vars with a bad value is an
     * {@link IllegalArgumentException} naming where it came from ({@code -e KEY} or
     * {@code hosts.conf:LINE}); every problem is listed, not only the first.
     */
    public static Map<String, Object> validate(Playbook playbook, Map<String, String> extra, Inventory inventory) {
        Map<String, PlaybookOption> declared = new LinkedHashMap<>();
        playbook.options().forEach(o -> declared.put(o.name(), o));
        List<String> problems = new ArrayList<>();
        Map<String, Object> out = new LinkedHashMap<>();
        extra.forEach((key, value) -> {
            PlaybookOption o = declared.get(key);
            if (o == null) {
                problems.add("-e " + key + ": " + playbook.name() + " has no such option" + suggestion(key, declared.keySet())
                        + " (playbook " + playbook.name() + " --help lists them)");
                return;
            }
            try {
                out.put(key, o.normalize(value, true));
            } catch (IllegalArgumentException e) {
                problems.add("-e " + key + ": " + e.getMessage());
            }
        });
        if (inventory != null) {
            for (Host h : inventory.hosts()) {
                for (PlaybookOption o : declared.values()) {
                    Object v = h.var(o.name());
                    if (v == null || extra.containsKey(o.name())) {
                        continue;
                    }
                    try {
                        o.normalize(String.valueOf(v), false);
                    } catch (IllegalArgumentException e) {
                        String problem = h.varOrigin(o.name()) + ": vars." + o.name() + " " + e.getMessage();
                        if (!problems.contains(problem)) {
                            problems.add(problem);
                        }
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        return out;
    }

    private static String suggestion(String key, java.util.Set<String> known) {
        String best = null;
        int bestDistance = 3;
        for (String k : known) {
            int d = distance(key, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return best == null ? "" : "; did you mean " + best + "?";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The options as help lines: name, type, default, description. */
    public static List<String> help(Playbook playbook) {
        List<String> out = new ArrayList<>();
        int w = playbook.options().stream().mapToInt(o -> o.name().length() + o.typeText().length() + 1).max().orElse(10);
        for (PlaybookOption o : playbook.options()) {
            out.add(String.format("  -e %-" + w + "s  %s%s", o.name() + "=" + o.typeText(), o.description(),
                    o.defaultValue() == null ? "" : " (default: " + o.defaultValue() + ")"));
        }
        return out;
    }
}
