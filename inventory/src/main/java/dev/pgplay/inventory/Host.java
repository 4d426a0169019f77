package dev.pgplay.inventory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One managed host as the inventory describes it, with connection settings already merged from
 * {@code defaults} and vars merged in the documented precedence (all, groups, host).
 * {@code explicit} names the connection settings the inventory gave (host or defaults); the others
 * hold defaults that ~/.ssh/config may override (User, Port, IdentityFile, ProxyJump).
 */
public record Host(
        String name,
        String address,
        int port,
        String user,
        List<Path> identityFiles,
        Optional<Secret> identityPassphrase,
        Optional<Path> knownHosts,
        HostKeyChecking hostKeyChecking,
        Optional<Secret> password,
        Become become,
        Duration connectTimeout,
        Optional<String> proxyJump,
        Set<String> groups,
        Map<String, Object> vars,
        Map<String, String> varOrigins,
        Set<String> explicit,
        String origin) {

    /** Whether unknown host keys may be added (never a changed one). */
    public enum HostKeyChecking {
        /** Only keys already in known_hosts are accepted (default). */
        STRICT,
        /** Unknown hosts are accepted and their key appended, like OpenSSH's accept-new; changed keys are refused. */
        ACCEPT_NEW
    }

    /** Whether the inventory set this connection setting (e.g. "user", "port"). */
    public boolean isExplicit(String setting) {
        return explicit.contains(setting);
    }

    /** A copy with connection settings taken from elsewhere (e.g. ~/.ssh/config). */
    public Host withConnection(String newUser, int newPort, List<Path> newIdentities, Optional<String> newProxyJump) {
        return new Host(name, address, newPort, newUser, newIdentities, identityPassphrase, knownHosts, hostKeyChecking, password,
                become, connectTimeout, newProxyJump, groups, vars, varOrigins, explicit, origin);
    }

    public Object var(String key) {
        return vars.get(key);
    }

    /** Where a var of this host was set ({@code hosts.conf:LINE}), "?" when unknown. */
    public String varOrigin(String key) {
        String o = varOrigins.get(key);
        return o == null ? "?" : o;
    }

    public String varString(String key, String fallback) {
        Object v = vars.get(key);
        return v == null ? fallback : v.toString();
    }

    @Override
    public String toString() {
        return name;
    }
}
