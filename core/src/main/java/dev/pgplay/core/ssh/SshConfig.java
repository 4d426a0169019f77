package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.sshd.client.config.hosts.HostConfigEntry;

/**
 * OpenSSH's client config (default {@code ~/.ssh/config}) for what the inventory leaves unset:
 * User, Port, IdentityFile and ProxyJump, matched on the host's inventory name, then its address.
 * The inventory wins wherever it says something.
 */
final class SshConfig {
    private final List<HostConfigEntry> entries;

    private SshConfig(List<HostConfigEntry> entries) {
        this.entries = entries;
    }

    static SshConfig load(Path file) {
        if (file == null || !Files.isReadable(file)) {
            return new SshConfig(List.of());
        }
        try {
            return new SshConfig(new ArrayList<>(HostConfigEntry.readHostConfigEntries(file)));
        } catch (IOException e) {
            throw new UncheckedIOException("ssh config " + file + ": " + e.getMessage(), e);
        }
    }

    Host apply(Host host) {
        if (entries.isEmpty()) {
            return host;
        }
        HostConfigEntry entry = match(host.name());
        if (entry == null) {
            entry = match(host.address());
        }
        if (entry == null) {
            return host;
        }
        String user = !host.isExplicit("user") && entry.getUsername() != null && !entry.getUsername().isEmpty() ? entry.getUsername() : host.user();
        int port = !host.isExplicit("port") && entry.getPort() > 0 ? entry.getPort() : host.port();
        List<Path> ids = host.identityFiles();
        if (!host.isExplicit("identity-file") && entry.getIdentities() != null && !entry.getIdentities().isEmpty()) {
            ids = entry.getIdentities().stream().map(SshConfig::expand).toList();
        }
        Optional<String> jump = host.proxyJump();
        if (!host.isExplicit("proxy-jump") && entry.getProxyJump() != null && !entry.getProxyJump().isEmpty()) {
            jump = Optional.of(entry.getProxyJump());
        }
        return host.withConnection(user, port, ids, jump);
    }

    private HostConfigEntry match(String alias) {
        if (HostConfigEntry.findMatchingEntries(alias, entries).isEmpty()) {
            return null;
        }
        try {
            return HostConfigEntry.toHostConfigEntryResolver(entries).resolveEffectiveHost(alias, 0, null, "", null, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path expand(String path) {
        return Path.of(path.startsWith("~/") ? System.getProperty("user.home") + path.substring(1) : path);
    }
}
