package dev.pgplay.playbooks;

import dev.pgplay.inventory.Host;
import dev.pgplay.postgres.PgSettings;
import java.util.List;
import java.util.Map;

/**
 * The switch settings: a var from {@code -e} first, then from the primary's inventory vars, and
 * where it was set ({@code -e KEY} or {@code hosts.conf:LINE}) for errors.
 */
record SwitchVars(Host host, Map<String, Object> extra) {
    static final List<String> METHODS = List.of("vip", "pgbouncer", "hosts-alias", "dns-hook");

    Object var(String key) {
        return extra.containsKey(key) ? extra.get(key) : host.var(key);
    }

    String varString(String key, String fallback) {
        Object v = var(key);
        return v == null ? fallback : v.toString();
    }

    String varOrigin(String key) {
        return extra.containsKey(key) ? "-e " + key : host.varOrigin(key);
    }

    /**
     * {@code vars.switch}: how clients follow the primary, one or more of {@link #METHODS};
     * {@code [vip]} by default when roles.vip is set, else none. A VIP in roles is always moved
     * with the primary, so it must be listed.
     */
    List<String> methods(PgSettings s) {
        Object raw = var("switch");
        List<String> methods = raw == null ? (s.vip().isPresent() ? List.of("vip") : List.of())
                : raw instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of(String.valueOf(raw));
        for (String m : methods) {
            if (!METHODS.contains(m)) {
                throw new IllegalArgumentException(varOrigin("switch") + ": switch = " + methods + ": '" + m
                        + "' is not a switch method (" + String.join(", ", METHODS) + ")");
            }
        }
        if (methods.contains("vip") && s.vip().isEmpty()) {
            throw new IllegalArgumentException(varOrigin("switch") + ": switch lists vip, and roles.vip is not set");
        }
        if (!methods.contains("vip") && s.vip().isPresent()) {
            throw new IllegalArgumentException(varOrigin("switch") + ": switch = " + methods + " leaves out vip, and roles.vip is set: "
                    + "the VIP moves with the primary, so list vip too, or remove roles.vip");
        }
        return methods;
    }
}
