package dev.pgplay.playbooks;

import dev.pgplay.inventory.Inventory;
import dev.pgplay.postgres.PgSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a blue-green upgrade reads from the inventory and -e, validated before any host is
 * contacted: blue is the cluster of {@code roles.primary} ({@code pg-version}, {@code pg-cluster},
 * {@code pg-port}); green is the one host of the inventory group {@code green}, which gets a
 * cluster of {@code new-version} on the same port (clients keep their port when the VIP moves).
 */
record BlueGreenSettings(PgSettings blue, String green, String nextVersion, boolean identityFull, boolean copyLargeObjects,
                         boolean unloggedEmpty, Duration catchUp, boolean verify, java.util.Optional<NameSwitch> names) {

    static BlueGreenSettings of(Inventory inventory, Map<String, Object> extra) {
        String where = inventory.file().getFileName().toString();
        PgSettings blue = PgSettings.of(inventory, extra, false);
        Set<String> group = inventory.groups().get("green");
        if (group == null || group.isEmpty()) {
            throw new IllegalArgumentException(where + ": no group green: name the host that gets the new cluster, "
                    + "e.g. groups { green { hosts = [db3] } }");
        }
        if (group.size() != 1) {
            throw new IllegalArgumentException(where + ": group green has " + group.size() + " hosts " + group.stream().sorted().toList()
                    + "; a blue-green upgrade builds one new primary (its standbys come after the cleanup)");
        }
        String green = group.iterator().next();
        if (green.equals(blue.primary())) {
            throw new IllegalArgumentException(where + ": green host " + green + " is the primary; green must be another host");
        }
        if (blue.standbys().contains(green)) {
            throw new IllegalArgumentException(where + ": green host " + green + " is a standby of blue; its cluster would take the port "
                    + blue.port() + " the standby serves on. Use a host without a cluster on that port, or remove it from roles.standby first");
        }
        var primary = inventory.host(blue.primary());
        String next = MajorSettings.newVersion(where, text(extra, "new-version", primary.varString("new-version", null)), blue.version(),
                "the major green runs");
        String seconds = text(extra, "catch-up-timeout", primary.varString("catch-up-timeout", "30"));
        if (!seconds.matches("[1-9]\\d{0,4}")) {
            throw new IllegalArgumentException(where + ": catch-up-timeout must be seconds from 1 to 99999, got '" + seconds + "'");
        }
        SwitchVars vars = new SwitchVars(primary, extra);
        if (vars.methods(blue).contains("pgbouncer")) {
            throw new IllegalArgumentException(vars.varOrigin("switch") + ": the blue-green switch moves clients by vip, hosts-alias or dns-hook; "
                    + "it does not re-point PgBouncer to another server: list the others, and point PgBouncer at the side that takes writes yourself");
        }
        return new BlueGreenSettings(blue, green, next, flag(extra, "replica-identity-full", where), flag(extra, "copy-large-objects", where),
                "empty".equals(String.valueOf(extra.getOrDefault("unlogged-tables", "refuse"))), Duration.ofSeconds(Long.parseLong(seconds)), !"false".equals(String.valueOf(extra.getOrDefault("verify", "true"))),
                NameSwitch.of(inventory, blue, extra));
    }

    private static String text(Map<String, Object> extra, String key, String fallback) {
        Object v = extra.get(key);
        return v != null ? v.toString() : fallback;
    }

    private static boolean flag(Map<String, Object> extra, String key, String where) {
        String v = String.valueOf(extra.getOrDefault(key, "false"));
        if (!v.matches("true|false")) {
            throw new IllegalArgumentException(where + ": " + key + " must be true or false, got '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }

    /** Green's cluster: the new major, blue's cluster name and port. */
    PgSettings greenCluster() {
        return blue.with(nextVersion, blue.port());
    }

    PgSettings cluster(Side side) {
        return side == Side.BLUE ? blue : greenCluster();
    }

    String host(Side side) {
        return side == Side.BLUE ? blue.primary() : green;
    }

    String hosts() {
        return blue.primary() + "," + green;
    }

    /** "13 on db1 -> 15 on db3" */
    String title() {
        return blue.version() + " on " + blue.primary() + " -> " + nextVersion + " on " + green;
    }

    /** The two sides of the upgrade. */
    enum Side {
        BLUE, GREEN;

        Side other() {
            return this == BLUE ? GREEN : BLUE;
        }

        String text() {
            return name().toLowerCase();
        }

        static Side of(String text) {
            return text.equals("green") ? GREEN : BLUE;
        }
    }

    static List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.of(
                dev.pgplay.core.run.PlaybookOption.string("new-version", null, "the major version green runs (required), e.g. 15"),
                dev.pgplay.core.run.PlaybookOption.bool("replica-identity-full", false,
                        "set tables without a key to REPLICA IDENTITY FULL instead of refusing (updates and deletes then send whole rows)"),
                dev.pgplay.core.run.PlaybookOption.bool("copy-large-objects", false,
                        "copy large objects at every switch, while writes are blocked (chosen once at prepare, kept for every later switch)"),
                dev.pgplay.core.run.PlaybookOption.choice("unlogged-tables", "refuse", "unlogged tables, which logical replication does not carry: "
                        + "refuse (the default) or empty (green has them empty and their rows are not compared; chosen once at prepare, kept)",
                        "refuse", "empty"),
                dev.pgplay.core.run.PlaybookOption.integer("catch-up-timeout", 30, 1, 99999,
                        "seconds the switch waits for the other side to apply everything before it gives up and reopens writes"),
                dev.pgplay.core.run.PlaybookOption.bool("verify", true, "compare both sides (catalog, rows, checksums) as of the switch: "
                        + "snapshots exported while writes are blocked, read once they are open again (sequences and large objects are "
                        + "compared before the opening)"));
    }
}
