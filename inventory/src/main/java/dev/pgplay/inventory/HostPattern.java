package dev.pgplay.inventory;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Ansible-style host patterns: terms separated by {@code ,} or {@code :}; a term is a host name,
 * a group name or a glob ({@code *}, {@code ?}); {@code !term} excludes, {@code &term} intersects.
 * Unions are applied first, then intersections, then exclusions, as in Ansible.
 */
public final class HostPattern {
    private final List<String> include;
    private final List<String> intersect;
    private final List<String> exclude;
    private final String text;

    private HostPattern(String text, List<String> include, List<String> intersect, List<String> exclude) {
        this.text = text;
        this.include = include;
        this.intersect = intersect;
        this.exclude = exclude;
    }

    public static HostPattern parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("host pattern: empty");
        }
        List<String> include = new ArrayList<>();
        List<String> intersect = new ArrayList<>();
        List<String> exclude = new ArrayList<>();
        for (String raw : text.split("[,:]")) {
            String term = raw.trim();
            if (term.isEmpty()) {
                continue;
            }
            if (term.startsWith("!")) {
                exclude.add(term.substring(1));
            } else if (term.startsWith("&")) {
                intersect.add(term.substring(1));
            } else {
                include.add(term);
            }
        }
        if (include.isEmpty()) {
            include.add("all");
        }
        return new HostPattern(text, include, intersect, exclude);
    }

    /** The host names this pattern selects; a term that matches nothing is an error (a typo would select nothing). */
    public Set<String> match(Set<String> hosts, Map<String, Set<String>> groups) {
        Set<String> result = new LinkedHashSet<>();
        for (String term : include) {
            result.addAll(resolve(term, hosts, groups));
        }
        for (String term : intersect) {
            result.retainAll(resolve(term, hosts, groups));
        }
        for (String term : exclude) {
            result.removeAll(resolve(term, hosts, groups));
        }
        return result;
    }

    private Set<String> resolve(String term, Set<String> hosts, Map<String, Set<String>> groups) {
        Set<String> out = new LinkedHashSet<>();
        if (term.contains("*") || term.contains("?")) {
            Pattern glob = Pattern.compile(term.replace(".", "\\.").replace("*", ".*").replace("?", "."));
            hosts.stream().filter(h -> glob.matcher(h).matches()).forEach(out::add);
            groups.forEach((g, members) -> {
                if (glob.matcher(g).matches()) {
                    out.addAll(members);
                }
            });
        } else if (groups.containsKey(term)) {
            out.addAll(groups.get(term));
        } else if (hosts.contains(term)) {
            out.add(term);
        } else {
            throw new IllegalArgumentException("host pattern '" + text + "': no host or group named " + term);
        }
        return out;
    }
}
