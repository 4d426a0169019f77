package dev.pgplay.postgres;

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
 * (key=value lines, written atomically, readable by a person) so that a second run,
 * {@code --resume}, {@code major-rollback} and {@code major-cleanup} know what was done: a
 * {@link State}, the {@link Step}s done, and values under typed {@link Key}s.
 */
public final class UpgradeStatus {
    public static final String DIR = "/var/lib/pgplay";

    /** Where the upgrade stands on this host. */
    public enum State {
        NONE, PREPARING, UPGRADING, FAILED_UPGRADE, UPGRADED, ROLLED_BACK, REBUILDING, STANDBY_REBUILT, CLEANED;

        /** As written in the file: {@code failed-upgrade}. */
        public String text() {
            return name().toLowerCase().replace('_', '-');
        }

        static State of(String text) {
            for (State s : values()) {
                if (s.text().equals(text)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown upgrade state '" + text + "' in the status file");
        }

        @Override
        public String toString() {
            return text();
        }
    }

    /** A step of the upgrade that is recorded once done (a resumed run skips it; going back undoes some). */
    public enum Step {
        CONFIG("config"), CHECKED("checked"), WRITES_BLOCKED("writes-blocked"), SNAPSHOT("snapshot"), OLD_STOPPED("old-stopped"),
        PG_UPGRADE("pg_upgrade"), GLOBALS("globals"), COPY_STARTED("copy-started"), COPIED("copied"), SWAPPED("swapped"),
        VERIFIED("verified"), OPENED("opened"), ANALYZED("analyzed"), AUDITED("audited"), SWITCHED("switched");

        final String text;

        Step(String text) {
            this.text = text;
        }
    }

    /** A value the upgrade keeps. */
    public enum Key {
        OLD_VERSION, NEW_VERSION, METHOD, PORT, SIDE_PORT, OLD_DATA, NEW_DATA, NEW_CREATED, NEW_FRESH, NEW_STARTED,
        ENCODING, LC_COLLATE, LC_CTYPE, CHECKSUMS, MESSAGE, REMOVED_PARAMETERS, USER_WRITES, VERIFIED_ITEMS,
        WAL_AT_OPEN, BLOCKED_AT, STOPPED_AT, UP_AT, OPENED_AT, DATABASES_DONE, VERIFY, VERIFIED_IN, AUDIT, SHUTDOWN_CHECKPOINT, STANDBY_METHODS,
        TARGET, SWITCHED_AT, SWITCHED_BACK_AT, DOOR_CLOSED_AT, SESSIONS_ENDED;

        String text() {
            return name().toLowerCase().replace('_', '-');
        }
    }

    private static final String STATE = "state";
    private static final String STEPS = "steps";

    private final String cluster;
    private final Map<String, String> values;

    private UpgradeStatus(String cluster, Map<String, String> values) {
        this.cluster = cluster;
        this.values = values;
    }

    public static String path(String cluster) {
        return DIR + "/major-" + cluster + ".status";
    }

    /** The status on the host; an empty status (state "none") when there is none. */
    public static UpgradeStatus read(HostContext ctx, String cluster) {
        ExecResult r = ctx.connection().exec(Cmd.of("sh", "-c", "[ ! -e \"$1\" ] || cat \"$1\"", "sh", path(cluster)), ExecOptions.as("root"))
                .check(ctx.host().name());
        return parse(cluster, r.stdout());
    }

    public static UpgradeStatus parse(String cluster, String text) {
        Map<String, String> v = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                v.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return new UpgradeStatus(cluster, v);
    }

    public static UpgradeStatus fresh(String cluster) {
        return new UpgradeStatus(cluster, new LinkedHashMap<>());
    }

    public String text() {
        StringBuilder b = new StringBuilder("# pgplay major upgrade status; read by major-upgrade --resume, major-rollback, major-cleanup\n");
        values.forEach((k, val) -> b.append(k).append('=').append(val.replace('\n', ' ')).append('\n'));
        return b.toString();
    }

    public void save(HostContext ctx) {
        if (ctx.checkMode()) {
            return;
        }
        values.put("updated", Instant.now().toString());
        // the status is world-readable and holds no secret: its text goes as an argument, through the host's kept
        // shell, which spares the channel of its own that stdin needs (a status is saved several times in a window)
        ctx.connection().exec(Cmd.of("sh", "-c", "install -d -m 0755 \"$1\" && umask 022 && printf '%s' \"$3\" > \"$2.pgplay-new\" "
                + "&& chmod 0644 \"$2.pgplay-new\" && mv -f \"$2.pgplay-new\" \"$2\"", "sh", DIR, path(cluster), text()), ExecOptions.as("root"))
                .check(ctx.host().name());
    }

    /**
     * Writes a file of pgplay's own under {@link #DIR} as root in one round trip (a status is saved
     * several times inside a window of refused writes): the text on stdin, never on a command line,
     * written beside the file with {@code mode} (0600: nobody else may read it), then renamed over it.
     */
    public static void write(HostContext ctx, String path, String text, String mode) {
        if (!mode.matches("0[0-7]{3}")) {
            throw new IllegalArgumentException("not a file mode: " + mode);
        }
        ctx.connection().exec(Cmd.of("sh", "-c", "install -d -m 0755 \"$1\" && umask 077 && cat > \"$2.pgplay-new\" && chmod \"$3\" \"$2.pgplay-new\" "
                + "&& mv -f \"$2.pgplay-new\" \"$2\"", "sh", DIR, path, mode), ExecOptions.as("root").stdin(text.getBytes(StandardCharsets.UTF_8)))
                .check(ctx.host().name());
    }

    public State state() {
        return State.of(values.getOrDefault(STATE, State.NONE.text()));
    }

    public UpgradeStatus state(State state) {
        values.put(STATE, state.text());
        return this;
    }

    public String get(Key key) {
        return values.get(key.text());
    }

    public String get(Key key, String fallback) {
        return values.getOrDefault(key.text(), fallback);
    }

    public UpgradeStatus put(Key key, Object value) {
        if (value == null) {
            values.remove(key.text());
        } else {
            values.put(key.text(), value.toString());
        }
        return this;
    }

    public boolean flag(Key key) {
        return Boolean.parseBoolean(get(key));
    }

    public long number(Key key) {
        String v = get(key);
        return v == null ? 0 : Long.parseLong(v);
    }

    public boolean done(Step step) {
        return items(STEPS).contains(step.text);
    }

    /** Records the step as done (not yet saved). */
    public UpgradeStatus mark(Step step) {
        return add(STEPS, step.text);
    }

    /** Records the step as done and saves the file on the host. */
    public UpgradeStatus done(Step step, HostContext ctx) {
        mark(step).save(ctx);
        return this;
    }

    /** Forgets these steps (they were undone) and the databases copied. */
    public UpgradeStatus undo(List<Step> steps) {
        List<String> kept = new ArrayList<>(items(STEPS));
        steps.forEach(s -> kept.remove(s.text));
        values.put(STEPS, String.join(",", kept));
        put(Key.DATABASES_DONE, null);
        return this;
    }

    public List<String> list(Key key) {
        return items(key.text());
    }

    public UpgradeStatus add(Key key, String item) {
        return add(key.text(), item);
    }

    private List<String> items(String key) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            return List.of();
        }
        return Arrays.stream(v.split(",")).map(x -> URLDecoder.decode(x, StandardCharsets.UTF_8)).toList();
    }

    private UpgradeStatus add(String key, String item) {
        List<String> items = new ArrayList<>(items(key));
        if (!items.contains(item)) {
            items.add(item);
        }
        values.put(key, String.join(",", items.stream().map(x -> URLEncoder.encode(x, StandardCharsets.UTF_8)).toList()));
        return this;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** One line for messages: state, method, versions and the last step done. */
    public String summary() {
        List<String> steps = items(STEPS);
        return state() + " (" + get(Key.OLD_VERSION, "?") + " -> " + get(Key.NEW_VERSION, "?") + ", " + get(Key.METHOD, "?")
                + (steps.isEmpty() ? "" : ", last step done: " + steps.get(steps.size() - 1))
                + (get(Key.MESSAGE) != null ? "; " + shortMessage() : "") + ")";
    }

    /** The recorded message cut to one short line (the full text is in the status file and the run's log). */
    public String shortMessage() {
        String msg = get(Key.MESSAGE, "");
        return msg.length() <= 160 ? msg : msg.substring(0, 157) + "...";
    }
}
