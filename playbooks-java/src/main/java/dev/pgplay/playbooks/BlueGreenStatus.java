package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import dev.pgplay.postgres.UpgradeStatus;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a blue-green upgrade stands, kept on both hosts in
 * {@code /var/lib/pgplay/bluegreen-CLUSTER.status} (key=value lines, readable by a person): the
 * {@link Phase}, the side that takes writes, the side a switch is moving them to, when writes were
 * last blocked and opened, and the databases whose schema green has. What a switch does next is
 * read from the servers themselves (who is read-only, who subscribes to whom); this file says that
 * an upgrade exists and what the last run meant to do.
 */
final class BlueGreenStatus {
    enum Phase {
        NONE, PREPARING, READY, SWITCHING, CLEANED;

        String text() {
            return name().toLowerCase();
        }

        static Phase of(String text) {
            for (Phase p : values()) {
                if (p.text().equals(text)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown blue-green phase '" + text + "' in the status file");
        }
    }

    Phase phase = Phase.NONE;
    Side writable = Side.BLUE;
    Side target;
    long blockedAt;
    long openedAt;
    int switches;
    String oldVersion = "";
    String newVersion = "";
    List<String> schemaCopied = new ArrayList<>();
    /** Chosen at prepare (-e copy-large-objects=true), kept for every switch. */
    boolean copyLargeObjects;
    /** Chosen at prepare (-e unlogged-tables=empty), kept for every switch. */
    boolean unloggedEmpty;
    String message = "";
    String updated = "";

    static String path(String cluster) {
        return UpgradeStatus.DIR + "/bluegreen-" + cluster + ".status";
    }

    static BlueGreenStatus read(HostContext ctx, String cluster) {
        String text = ctx.connection().exec(Cmd.of("sh", "-c", "[ ! -e \"$1\" ] || cat \"$1\"", "sh", path(cluster)), ExecOptions.as("root"))
                .check(ctx.host().name()).stdout();
        return parse(text);
    }

    static BlueGreenStatus parse(String text) {
        BlueGreenStatus s = new BlueGreenStatus();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0 || line.startsWith("#")) {
                continue;
            }
            String v = line.substring(eq + 1).trim();
            switch (line.substring(0, eq).trim()) {
                case "phase" -> s.phase = Phase.of(v);
                case "writable" -> s.writable = Side.of(v);
                case "target" -> s.target = v.isEmpty() ? null : Side.of(v);
                case "blocked-at" -> s.blockedAt = Long.parseLong(v);
                case "opened-at" -> s.openedAt = Long.parseLong(v);
                case "switches" -> s.switches = Integer.parseInt(v);
                case "old-version" -> s.oldVersion = v;
                case "new-version" -> s.newVersion = v;
                case "schema-copied" -> s.schemaCopied = v.isEmpty() ? new ArrayList<>()
                        : new ArrayList<>(Arrays.stream(v.split(",")).map(x -> URLDecoder.decode(x, StandardCharsets.UTF_8)).toList());
                case "large-objects" -> s.copyLargeObjects = v.equals("copy");
                case "unlogged-tables" -> s.unloggedEmpty = v.equals("empty");
                case "message" -> s.message = v;
                case "updated" -> s.updated = v;
                default -> {
                    // a key of a later version: kept out, never fatal
                }
            }
        }
        return s;
    }

    String text() {
        return "# pgplay blue-green upgrade status; read by bluegreen-prepare, -switch, -rollback and -cleanup\n"
                + "phase=" + phase.text() + "\n"
                + "writable=" + writable.text() + "\n"
                + "target=" + (target == null ? "" : target.text()) + "\n"
                + "blocked-at=" + blockedAt + "\n"
                + "opened-at=" + openedAt + "\n"
                + "switches=" + switches + "\n"
                + "old-version=" + oldVersion + "\n"
                + "new-version=" + newVersion + "\n"
                + "schema-copied=" + String.join(",", schemaCopied.stream().map(x -> URLEncoder.encode(x, StandardCharsets.UTF_8)).toList()) + "\n"
                + "large-objects=" + (copyLargeObjects ? "copy" : "refuse") + "\n"
                + "unlogged-tables=" + (unloggedEmpty ? "empty" : "refuse") + "\n"
                + "message=" + message.replace('\n', ' ') + "\n"
                + "updated=" + updated + "\n";
    }

    /** Saved on each host given (both sides), never in check mode. */
    void save(String cluster, HostContext... hosts) {
        updated = Instant.now().toString();
        for (HostContext ctx : hosts) {
            if (ctx.checkMode()) {
                return;
            }
            ctx.connection().exec(Cmd.of("install", "-d", "-m", "0755", UpgradeStatus.DIR), ExecOptions.as("root")).check(ctx.host().name());
            ctx.connection().upload(text().getBytes(StandardCharsets.UTF_8), path(cluster), "0644", "root:root");
        }
    }

    /** The newer of the two hosts' files (a run cut between the two writes leaves them apart). */
    static BlueGreenStatus newer(BlueGreenStatus a, BlueGreenStatus b) {
        return a.updated.compareTo(b.updated) >= 0 ? a : b;
    }

    String summary() {
        return phase.text() + ", writes on " + writable.text() + (target != null ? ", moving to " + target.text() : "")
                + (switches > 0 ? ", " + switches + " switch(es)" : "") + (message.isEmpty() ? "" : "; " + message);
    }
}
