package dev.pgplay.postgres;

import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.Vip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the PostgreSQL playbooks read from the inventory, validated before anything runs: the
 * cluster (pg-version, pg-cluster, pg-port), the primary and standby roles, the VIP and the
 * replication user and its password (replication-password from the environment through HOCON,
 * or replication-password-file).
 */
public record PgSettings(String version, String cluster, int port, String primary, List<String> standbys, Optional<Vip> vip,
                  String replicationUser, String replicationPassword, List<String> clientNetworks) {

    public static PgSettings of(Inventory inventory, Map<String, Object> extra) {
        return of(inventory, extra, true);
    }

    /** {@code needStandby} false: a single server is fine (major upgrades). */
    public static PgSettings of(Inventory inventory, Map<String, Object> extra, boolean needStandby) {
        String where = inventory.file().getFileName().toString();
        String primary = inventory.roles().primary().orElseThrow(() ->
                new IllegalArgumentException(where + ": roles.primary is not set (the host that is primary now)"));
        List<String> standbys = inventory.roles().standbys();
        if (standbys.isEmpty() && needStandby) {
            throw new IllegalArgumentException(where + ": roles.standby is not set");
        }
        Host p = inventory.host(primary);
        String version = var(p, extra, "pg-version", "15");
        if (!version.matches("\\d+")) {
            throw new IllegalArgumentException(where + ": pg-version must be a major version like 15, got '" + version + "'");
        }
        String cluster = var(p, extra, "pg-cluster", "main");
        if (!cluster.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException(where + ": pg-cluster: bad cluster name '" + cluster + "'");
        }
        int port;
        try {
            port = Integer.parseInt(var(p, extra, "pg-port", "5432"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": pg-port must be a number");
        }
        String user = var(p, extra, "replication-user", "replicator");
        if (!user.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException(where + ": replication-user must be a plain name (letters, digits, _), got '" + user + "'");
        }
        String password = p.varString("replication-password", null);
        if (password == null || password.isEmpty()) {
            String file = p.varString("replication-password-file", null);
            if (file == null) {
                throw new IllegalArgumentException(where + ": no replication password: set PGPLAY_REPLICATION_PASSWORD "
                        + "(read by replication-password = ${?PGPLAY_REPLICATION_PASSWORD}) or vars.replication-password-file");
            }
            Path path = inventory.file().getParent().resolve(file);
            try {
                password = Files.readString(path).strip();
            } catch (IOException e) {
                throw new IllegalArgumentException(where + ": replication-password-file " + path + " cannot be read");
            }
            if (password.isEmpty()) {
                throw new IllegalArgumentException(where + ": replication-password-file " + path + " is empty");
            }
        }
        Object nets = p.var("client-networks");
        List<String> clientNetworks = nets instanceof List<?> l ? l.stream().map(Object::toString).toList()
                : nets == null ? List.of() : List.of(nets.toString());
        for (String net : clientNetworks) {
            if (!net.matches("[0-9a-fA-F.:]+/\\d+|all|samenet")) {
                throw new IllegalArgumentException(where + ": client-networks: not a CIDR network: '" + net + "'");
            }
        }
        inventory.roles().vip().ifPresent(v -> {
            if (v.owner() != null && !v.owner().equals(primary)) {
                throw new IllegalArgumentException(where + ": roles.vip.owner is " + v.owner() + " but roles.primary is " + primary
                        + "; the VIP belongs to the primary");
            }
        });
        return new PgSettings(version, cluster, port, primary, standbys, inventory.roles().vip(), user, password, clientNetworks);
    }

    private static String var(Host h, Map<String, Object> extra, String key, String fallback) {
        Object v = extra.get(key);
        return v != null ? v.toString() : h.varString(key, fallback);
    }

    /** The same cluster settings for another major version on another port (an upgrade's old or new cluster). */
    public PgSettings with(String otherVersion, int otherPort) {
        return new PgSettings(otherVersion, cluster, otherPort, primary, standbys, vip, replicationUser, replicationPassword, clientNetworks);
    }

    public String confDir() {
        return "/etc/postgresql/" + version + "/" + cluster;
    }

    /** A replication slot name for a host: lower case letters, digits and underscores. */
    public static String slotFor(String host) {
        return "pgplay_" + host.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    @Override
    public String toString() {
        return "PgSettings[" + version + "/" + cluster + ":" + port + ", primary=" + primary + ", standbys=" + standbys + "]";
    }
}
