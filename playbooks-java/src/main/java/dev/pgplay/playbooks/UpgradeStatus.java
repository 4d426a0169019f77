package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a major upgrade stands on one host, kept in {@code /var/lib/pgplay/major-CLUSTER.status}
 * (key=value lines, written atomically) so that a second run, {@code --resume} and
 * {@code major-rollback} know what was done. States: upgrading, failed-upgrade, upgraded,
 * rolled-back, standby-rebuilt, cleaned.
 */
final class UpgradeStatus {
    static final String DIR = "/var/lib/pgplay";

    private final String cluster;
    private final Map<String, String> values;

    private UpgradeStatus(String cluster, Map<String, String> values) {
        this.cluster = cluster;
        this.values = values;
    }

    static String path(String cluster) {
        return DIR + "/major-" + cluster + ".status";
    }

    /** The status on the host; an empty status (state "none") when there is none. */
    static UpgradeStatus read(HostContext ctx, String cluster) {
        ExecResult r = ctx.connection().exec(Cmd.of("sh", "-c", "[ ! -e \"$1\" ] || cat \"$1\"", "sh", path(cluster)), ExecOptions.as("root"))
                .check(ctx.host().name());
        return parse(cluster, r.stdout());
    }

    static UpgradeStatus parse(String cluster, String text) {
        Map<String, String> v = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                v.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return new UpgradeStatus(cluster, v);
    }

    static UpgradeStatus fresh(String cluster) {
        return new UpgradeStatus(cluster, new LinkedHashMap<>());
    }

    String text() {
        StringBuilder b = new StringBuilder("# pgplay major upgrade status; read by major-upgrade --resume, major-rollback, major-cleanup\n");
        values.forEach((k, val) -> b.append(k).append('=').append(val.replace('\n', ' ')).append('\n'));
        return b.toString();
    }

    void save(HostContext ctx) {
        if (ctx.checkMode()) {
            return;
        }
        values.put("updated", Instant.now().toString());
        ctx.connection().exec(Cmd.of("install", "-d", "-m", "0755", DIR), ExecOptions.as("root")).check(ctx.host().name());
        ctx.connection().upload(text().getBytes(StandardCharsets.UTF_8), path(cluster), "0644", "root:root");
    }

    String state() {
        return values.getOrDefault("state", "none");
    }

    UpgradeStatus state(String state) {
        values.put("state", state);
        return this;
    }

    String get(String key) {
        return values.get(key);
    }

    String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    UpgradeStatus put(String key, Object value) {
        if (value == null) {
            values.remove(key);
        } else {
            values.put(key, value.toString());
        }
        return this;
    }

    boolean flag(String key) {
        return Boolean.parseBoolean(values.get(key));
    }

    long number(String key) {
        String v = values.get(key);
        return v == null ? 0 : Long.parseLong(v);
    }

    boolean done(String step) {
        return list("steps").contains(step);
    }

    UpgradeStatus done(String step, HostContext ctx) {
        add("steps", step);
        save(ctx);
        return this;
    }

    /** Forgets these steps (they were undone) and the databases copied. */
    UpgradeStatus undo(List<String> steps) {
        List<String> kept = new ArrayList<>(list("steps"));
        kept.removeAll(steps);
        values.put("steps", String.join(",", kept));
        values.remove("databases-done");
        return this;
    }

    List<String> list(String key) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            return List.of();
        }
        return Arrays.stream(v.split(",")).map(x -> URLDecoder.decode(x, StandardCharsets.UTF_8)).toList();
    }

    UpgradeStatus add(String key, String item) {
        List<String> items = new ArrayList<>(list(key));
        if (!items.contains(item)) {
            items.add(item);
        }
        values.put(key, String.join(",", items.stream().map(x -> URLEncoder.encode(x, StandardCharsets.UTF_8)).toList()));
        return this;
    }

    boolean isEmpty() {
        return values.isEmpty();
    }

    /** One line for messages: state, method, versions and the last step done. */
    String summary() {
        List<String> steps = list("steps");
        return state() + " (" + get("old-version", "?") + " -> " + get("new-version", "?") + ", " + get("method", "?")
                + (steps.isEmpty() ? "" : ", last step done: " + steps.get(steps.size() - 1))
                + (values.containsKey("message") ? "; " + shortMessage() : "") + ")";
    }

    /** The recorded message cut to one short line (the full text is in the status file and the run's log). */
    String shortMessage() {
        String msg = values.getOrDefault("message", "");
        return msg.length() <= 160 ? msg : msg.substring(0, 157) + "...";
    }
}
