package dev.pgplay.inventory;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A validated inventory: hosts, groups, roles and vars read from a HOCON file such as
 * {@code hosts.conf}. {@link #load(Path)} collects every problem and throws one
 * {@link InventoryException} naming each {@code file:LINE}; nothing is usable until all are fixed.
 *
 * <p>Vars precedence, lowest first: {@code vars} (all hosts), group {@code vars} (parents before
 * children, then by name), host {@code vars}, extra vars given to the run ({@code -e}).
 */
public final class Inventory {
    private final Path file;
    private final Map<String, Host> hosts;
    private final Map<String, Set<String>> groups;
    private final Roles roles;

    Inventory(Path file, Map<String, Host> hosts, Map<String, Set<String>> groups, Roles roles) {
        this.file = file;
        this.hosts = Collections.unmodifiableMap(new LinkedHashMap<>(hosts));
        this.groups = Collections.unmodifiableMap(new LinkedHashMap<>(groups));
        this.roles = roles;
    }

    /** Reads and validates an inventory file (HOCON: includes and substitutions work, env vars as fallback). */
    public static Inventory load(Path file) {
        return new InventoryLoader(file).load();
    }

    /** Parses inventory text (for embedders and tests); relative paths resolve against {@code baseDir}. */
    public static Inventory parse(String text, String originName, Path baseDir) {
        return new InventoryLoader(baseDir.resolve(originName)).loadText(text);
    }

    public Path file() {
        return file;
    }

    public Collection<Host> hosts() {
        return hosts.values();
    }

    public Optional<Host> find(String name) {
        return Optional.ofNullable(hosts.get(name));
    }

    public Host host(String name) {
        Host h = hosts.get(name);
        if (h == null) {
            throw new IllegalArgumentException(file.getFileName() + ": no host named " + name);
        }
        return h;
    }

    /** Group name to member host names, nested groups flattened; includes {@code all}. */
    public Map<String, Set<String>> groups() {
        return groups;
    }

    public Roles roles() {
        return roles;
    }

    /** The hosts matching an Ansible-style pattern ({@code db*,!db3}, {@code postgres:&dc1}), in inventory order. */
    public List<Host> select(String pattern) {
        Set<String> names = HostPattern.parse(pattern).match(hosts.keySet(), groups);
        return hosts.values().stream().filter(h -> names.contains(h.name())).toList();
    }
}
