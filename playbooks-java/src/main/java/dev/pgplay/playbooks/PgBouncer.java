package dev.pgplay.playbooks;

import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.run.WritesRefused;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.postgres.PgSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * PgBouncer in front of the primary (switch method {@code pgbouncer}, the hosts of inventory group
 * {@code pgbouncer}): during a switchover it is {@code PAUSE}d, so client queries wait instead of
 * failing, then its {@code [databases]} entries are pointed at the new primary
 * ({@link PgBouncerIni}), {@code RELOAD}ed and {@code RESUME}d. The pause is bounded twice: PAUSE
 * itself gets {@code pgbouncer-pause-timeout-seconds} (it waits for running transactions), and a
 * timer armed on the PgBouncer host before it ({@code pgplay-pgbouncer-resume}) resumes it by
 * itself after {@code pgbouncer-resume-after-seconds} should the controller be lost. The admin
 * console is reached over PgBouncer's unix socket as {@code pgbouncer-admin-user}, an OS user and
 * an admin_users entry authenticated by peer: no password is used.
 *
 * <p>In session pooling (PgBouncer's default) a client holds its server connection as long as it
 * stays connected, so PAUSE would wait for clients to leave; the server's stop ends those sessions
 * whatever is done. Such databases are {@code KILL}ed instead, at the same moment: their sessions
 * end (clients reconnect once, as through the VIP) and new ones wait, as PAUSE makes them, until
 * the RESUME that follows the promotion leads them to the new primary.
 */
final class PgBouncer {
    static final String TIMER = "pgplay-pgbouncer-resume";
    private final List<String> hosts;
    private final int port;
    private final String socketDir;
    private final String adminUser;
    private final String config;
    private final Duration pauseTimeout;
    private final Duration resumeAfter;
    private final Set<String> nodes;
    private final String vip;

    private PgBouncer(List<String> hosts, int port, String socketDir, String adminUser, String config, Duration pauseTimeout, Duration resumeAfter,
            Set<String> nodes, String vip) {
        this.hosts = hosts;
        this.port = port;
        this.socketDir = socketDir;
        this.adminUser = adminUser;
        this.config = config;
        this.pauseTimeout = pauseTimeout;
        this.resumeAfter = resumeAfter;
        this.nodes = nodes;
        this.vip = vip;
    }

    /**
     * The switch methods of {@code vars.switch} (default {@code [vip]} with a VIP in roles, else
     * none), validated before any host is contacted; the PgBouncer part when it is one of them.
     */
    static Optional<PgBouncer> of(Inventory inventory, PgSettings s, Map<String, Object> extra) {
        SwitchVars p = new SwitchVars(inventory.host(s.primary()), extra);
        if (!p.methods(s).contains("pgbouncer")) {
            return Optional.empty();
        }
        List<String> hosts = List.copyOf(inventory.groups().getOrDefault("pgbouncer", Set.of()));
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException(p.varOrigin("switch") + ": switch lists pgbouncer, and the inventory has no group pgbouncer "
                    + "(groups { pgbouncer { hosts = [...] } }: the hosts PgBouncer runs on)");
        }
        Set<String> nodes = new LinkedHashSet<>();
        nodes.add(inventory.host(s.primary()).address());
        s.standbys().forEach(h -> nodes.add(inventory.host(h).address()));
        return Optional.of(new PgBouncer(hosts, number(p, "pgbouncer-port", 6432), path(p, "pgbouncer-socket-dir", "/var/run/postgresql"),
                name(p, "pgbouncer-admin-user", "postgres"), path(p, "pgbouncer-config", "/etc/pgbouncer/pgbouncer.ini"),
                Duration.ofSeconds(number(p, "pgbouncer-pause-timeout-seconds", 10)), Duration.ofSeconds(number(p, "pgbouncer-resume-after-seconds", 60)),
                nodes, s.vip().map(v -> v.address()).orElse("")));
    }

    private static int number(SwitchVars p, String key, int fallback) {
        String v = p.varString(key, String.valueOf(fallback));
        if (!v.matches("\\d{1,5}") || Integer.parseInt(v) == 0) {
            throw new IllegalArgumentException(p.varOrigin(key) + ": " + key + " must be a positive number, got '" + v + "'");
        }
        return Integer.parseInt(v);
    }

    private static String path(SwitchVars p, String key, String fallback) {
        String v = p.varString(key, fallback);
        if (!v.matches("/[A-Za-z0-9_./-]*")) {
            throw new IllegalArgumentException(p.varOrigin(key) + ": " + key + " must be an absolute path, got '" + v + "'");
        }
        return v;
    }

    private static String name(SwitchVars p, String key, String fallback) {
        String v = p.varString(key, fallback);
        if (!v.matches("[a-z_][a-z0-9_-]*")) {
            throw new IllegalArgumentException(p.varOrigin(key) + ": " + key + " must be a user name, got '" + v + "'");
        }
        return v;
    }

    // ---------------------------------------------------------------- the admin console

    /** psql on the admin console over the unix socket, running {@code commands} in one session and stopping at the first error. */
    private List<String> console(List<String> commands) {
        List<String> argv = new ArrayList<>(List.of("psql", "-X", "-A", "-q", "-P", "footer=off", "-F", "\u001f", "-v", "ON_ERROR_STOP=1",
                "-h", socketDir, "-p", String.valueOf(port), "-U", adminUser, "-d", "pgbouncer"));
        for (String c : commands) {
            argv.add("-c");
            argv.add(c);
        }
        return argv;
    }

    /** Admin console commands in one psql, as the admin user, all within {@code limit}. */
    private ExecResult admin(HostContext ctx, List<String> commands, Duration limit) {
        List<String> argv = new ArrayList<>(List.of("timeout", limit.toSeconds() + "s"));
        argv.addAll(console(commands));
        return ctx.connection().exec(Cmd.of(argv), ExecOptions.as(adminUser).timeout(limit.plusSeconds(5)));
    }

    private ExecResult admin(HostContext ctx, String command, Duration limit) {
        return admin(ctx, List.of(command), limit);
    }

    /** One command per database: PAUSE app, RESUME app (names PgBouncer's console takes as a plain word). */
    private static List<String> each(String command, List<String> databases) {
        return databases.stream().map(d -> command + " " + d).toList();
    }

    /**
     * The databases of SHOW DATABASES that lead to the cluster (a node or the VIP), not the
     * console. PAUSE and RESUME are given per database: the global PAUSE of PgBouncer 1.18 shows
     * in no view, so a later run could not tell it is still paused.
     */
    private List<Map<String, String>> clusterDatabases(HostContext b) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, String> row : databases(b)) {
            String name = row.getOrDefault("name", "");
            if (!name.equals("pgbouncer") && (nodes.contains(row.get("host")) || row.get("host") != null && row.get("host").equals(vip))) {
                if (!name.matches("[A-Za-z0-9_.$-]+")) {
                    throw new IllegalStateException(b.host().name() + ": PgBouncer database '" + name + "' is not a plain name; pgplay does not pass "
                            + "it to PAUSE/RESUME. Rename the [databases] entry (the database it leads to keeps its name through dbname=)");
                }
                out.add(row);
            }
        }
        return out;
    }

    /**
     * Whether {@code row} of SHOW DATABASES pools by session: its own pool_mode, else the
     * configuration's ({@code defaultMode}, PgBouncer's default being session).
     */
    static boolean sessionPooled(Map<String, String> row, String defaultMode) {
        String own = row.getOrDefault("pool_mode", "");
        return "session".equals(own.isEmpty() ? defaultMode : own);
    }

    /** pool_mode of SHOW CONFIG: the mode of databases that set none. */
    private String defaultPoolMode(HostContext b) {
        ExecResult r = admin(b, "SHOW CONFIG", Duration.ofSeconds(10)).check(b.host().name() + ": pgbouncer SHOW CONFIG");
        for (String line : r.stdout().split("\n")) {
            String[] f = line.split("\u001f", -1);
            if (f.length > 1 && f[0].equals("pool_mode")) {
                return f[1];
            }
        }
        return "session";
    }

    /** The databases of the last pause that were KILLed (session pooling), per host. */
    private final Map<String, List<String>> killed = new java.util.concurrent.ConcurrentHashMap<>();

    /** The names of the databases of {@link #clusterDatabases} that are paused now. */
    private List<String> pausedDatabases(HostContext b) {
        return clusterDatabases(b).stream().filter(r -> "1".equals(r.get("paused"))).map(r -> r.get("name")).toList();
    }

    /** The config file as it is: mode, owner, SHA-256 and text, in one round trip; a file a lost run prepared beside it goes. */
    private record Config(String mode, String owner, String hash, String text) {
    }

    private Config read(HostContext b) {
        String out = b.connection().exec(Cmd.of("sh", "-c", "rm -f \"$1.pgplay-next\"; stat -c '%a %U:%G' \"$1\" && sha256sum < \"$1\" | cut -d' ' -f1 "
                + "&& cat \"$1\"", "sh", config), ExecOptions.as("root")).check(b.host().name() + ": " + config).stdout();
        int l1 = out.indexOf('\n');
        int l2 = out.indexOf('\n', l1 + 1);
        String[] owner = out.substring(0, l1).trim().split(" ");
        return new Config(owner[0], owner[1], out.substring(l1 + 1, l2).trim(), out.substring(l2 + 1));
    }

    /** SHOW DATABASES, a map per row (name, host, port, database, ..., paused). */
    List<Map<String, String>> databases(HostContext ctx) {
        ExecResult r = admin(ctx, "SHOW DATABASES", Duration.ofSeconds(10)).check(ctx.host().name() + ": pgbouncer SHOW DATABASES");
        String[] lines = r.stdout().split("\n");
        List<Map<String, String>> rows = new ArrayList<>();
        if (lines.length == 0 || lines[0].isBlank()) {
            return rows;
        }
        String[] header = lines[0].split("\u001f", -1);
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split("\u001f", -1);
            Map<String, String> row = new java.util.LinkedHashMap<>();
            for (int c = 0; c < header.length && c < f.length; c++) {
                row.put(header[c], f[c]);
            }
            rows.add(row);
        }
        return rows;
    }

    // ---------------------------------------------------------------- steps of a switchover

    /**
     * Before the old primary stops: a timer that resumes PgBouncer by itself, then PAUSE on every
     * PgBouncer host. A PAUSE that does not complete in time (a transaction that does not end, or
     * session pooling with clients that stay) resumes every host and fails: nothing was stopped.
     */
    TaskResult pause(HostContext ctx, RollingState st) {
        if (ctx.checkMode() || st.simulated) {
            return TaskResult.changed("would PAUSE PgBouncer on " + String.join(", ", hosts) + " (a timer resumes it after " + resumeAfter.toSeconds() + " s)",
                    List.of("PAUSE"));
        }
        List<String> paused = new ArrayList<>();
        List<String> said = new ArrayList<>();
        long first = 0;
        for (String h : hosts) {
            HostContext b = ctx.on(h);
            List<Map<String, String>> rows = clusterDatabases(b);
            List<String> dbs = rows.stream().map(r -> r.get("name")).toList();
            if (dbs.isEmpty()) {
                said.add(h + ": no database leads to the cluster");
                continue;
            }
            String mode = defaultPoolMode(b);
            List<String> sessions = rows.stream().filter(r -> sessionPooled(r, mode)).map(r -> r.get("name")).toList();
            List<String> pooled = dbs.stream().filter(d -> !sessions.contains(d)).toList();
            prepare(b, ctx.inventory().host(st.standby).address(), dbs);
            arm(b, dbs);
            paused.add(h);
            first = first == 0 ? System.nanoTime() : first; // queries wait from here
            // KILL first (immediate), then PAUSE (waits for running transactions), in one console session
            List<String> commands = new ArrayList<>(each("KILL", sessions));
            commands.addAll(each("PAUSE", pooled));
            ExecResult r = admin(b, commands, pauseTimeout);
            if (!r.ok()) {
                List<String> left = resumeAll(ctx, paused);
                return TaskResult.failed("PgBouncer on " + h + " did not pause within " + pauseTimeout.toSeconds() + " s (a transaction that does not end, "
                        + "or a user whose own pool_mode is session; pgbouncer-pause-timeout-seconds): "
                        + dev.pgplay.core.ssh.RemoteCommandException.lastLines(r.stdout() + r.stderr(), 2) + "; resumed on " + String.join(", ", paused)
                        + (left.isEmpty() ? "" : " except " + String.join(", ", left) + " (its timer resumes it)") + "; nothing was stopped");
            }
            if (!sessions.isEmpty()) {
                killed.put(h, sessions);
            }
            said.add(h + ": " + (pooled.isEmpty() ? "" : String.join(", ", pooled) + (sessions.isEmpty() ? "" : "; "))
                    + (sessions.isEmpty() ? "" : String.join(", ", sessions) + " in session pooling: sessions ended (KILL), new ones wait"));
        }
        st.bouncerPausedAt = first;
        return TaskResult.changed("PgBouncer paused (" + String.join("; ", said) + "): client queries wait", List.of("PAUSE"));
    }

    /**
     * PgBouncer leads to {@code primary} and is not paused, on every host: the entries that lead
     * to a node of the cluster re-pointed and RELOADed, a pause RESUMEd, the timer disarmed. Run
     * after a promotion, after a switchover that was undone, and by every run before it starts, so
     * a pause a lost controller left ends here too.
     */
    TaskResult lead(HostContext ctx, RollingState st, String primary) throws Exception {
        String address = ctx.inventory().host(primary).address();
        if (st.simulated) {
            return TaskResult.changed("would point PgBouncer at " + primary + " (" + address + "), RELOAD, RESUME", List.of("RELOAD", "RESUME"));
        }
        List<String> done = new ArrayList<>();
        List<String> said = new ArrayList<>();
        for (String h : hosts) {
            HostContext b = ctx.on(h);
            Prepared ready = prepared.remove(h);
            if (ready != null && ready.address().equals(address) && !ctx.checkMode() && resumePrepared(b, ready)) {
                if (st.bouncerPausedAt > 0) {
                    st.bouncerResumedAt = System.nanoTime();
                }
                done.add(h + ": " + (ready.changed().isEmpty() ? "" : String.join(", ", ready.changed()) + " -> " + address + ", RELOAD; ")
                        + "RESUME " + String.join(", ", ready.dbs()));
                disarm(b);
                said.add(h + " leads to " + primary);
                continue;
            }
            Config c = read(b);
            PgBouncerIni ini = PgBouncerIni.repoint(c.text(), nodes, address);
            List<String> paused = pausedDatabases(b);
            if (ctx.checkMode()) {
                if (!ini.changed().isEmpty()) {
                    done.add(h + ": would point " + ini.changed() + " at " + address + " and RELOAD");
                }
                if (!paused.isEmpty()) {
                    done.add(h + ": would RESUME " + String.join(", ", paused));
                }
                continue;
            }
            List<String> commands = new ArrayList<>();
            if (!ini.changed().isEmpty()) {
                b.connection().upload(ini.text().getBytes(StandardCharsets.UTF_8), config, c.mode(), c.owner());
                commands.add("RELOAD");
                done.add(h + ": " + String.join(", ", ini.changed()) + " -> " + address + ", RELOAD");
            }
            commands.addAll(each("RESUME", paused));
            if (!paused.isEmpty()) {
                done.add(h + ": RESUME " + String.join(", ", paused));
            }
            if (!commands.isEmpty()) {
                // RELOAD before RESUME in one console session: the resumed queries go to the new target
                admin(b, commands, Duration.ofSeconds(10)).check(h + ": pgbouncer " + String.join(", ", commands));
            }
            if (!paused.isEmpty() && st.bouncerPausedAt > 0) {
                st.bouncerResumedAt = System.nanoTime();
            }
            disarm(b);
            Set<String> leads = PgBouncerIni.hosts(ini.text());
            said.add(h + " leads to " + (leads.contains(address) ? primary : String.join(", ", leads)));
        }
        if (done.isEmpty()) {
            return TaskResult.ok(String.join("; ", said));
        }
        if (ctx.checkMode()) {
            return TaskResult.changed(String.join("; ", done), done);
        }
        if (st.bouncerPausedAt > 0) {
            WritesRefused all = WritesRefused.untilNow(st.bouncerPausedAt);
            long resumed = st.bouncerResumedAt > 0 ? st.bouncerResumedAt : System.nanoTime();
            WritesRefused w = new WritesRefused(all.fromMillis(), all.fromMillis() + (resumed - st.bouncerPausedAt) / 1_000_000);
            st.bouncerPausedAt = 0;
            st.bouncerResumedAt = 0;
            List<String> ended = new ArrayList<>();
            killed.forEach((h, dbs) -> ended.add(h + ": " + String.join(", ", dbs)));
            killed.clear();
            st.notes.add("PgBouncer paused " + w.millis() + " ms (client queries waited" + (ended.isEmpty() ? ", none failed for it)"
                    : "; in session pooling the sessions were ended and their clients reconnected once: " + String.join("; ", ended) + ")"));
            return new TaskResult.Changed(String.join("; ", done) + "; paused " + w.millis() + " ms", done, Optional.empty(), Map.of(WritesRefused.KEY, w));
        }
        return TaskResult.changed(String.join("; ", done), done);
    }

    /** A PgBouncer host made ready before PAUSE: the file for the new primary written beside its config, the databases paused. */
    private record Prepared(String address, String hash, String next, List<String> dbs, List<String> changed) {
    }

    private final Map<String, Prepared> prepared = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Before PAUSE, while clients still run: the configuration re-pointed at {@code target} is
     * written beside the config, so after the promotion one command swaps it in (if the config is
     * still the one read here), RELOADs and RESUMEs.
     */
    private void prepare(HostContext b, String target, List<String> dbs) {
        Config c = read(b);
        PgBouncerIni ini = PgBouncerIni.repoint(c.text(), nodes, target);
        String next = null;
        if (!ini.changed().isEmpty()) {
            next = config + ".pgplay-next";
            b.connection().upload(ini.text().getBytes(StandardCharsets.UTF_8), next, c.mode(), c.owner());
        }
        prepared.put(b.host().name(), new Prepared(target, c.hash(), next, dbs, ini.changed()));
    }

    /** The prepared file swapped in, RELOAD and RESUME in one round trip; false when the config changed meanwhile (then the slow way). */
    private boolean resumePrepared(HostContext b, Prepared ready) {
        List<String> commands = new ArrayList<>(ready.next() == null ? List.of() : List.of("RELOAD"));
        commands.addAll(each("RESUME", ready.dbs()));
        String swap = ready.next() == null ? "" : "[ \"$(sha256sum < \"$1\" | cut -d' ' -f1)\" = \"$2\" ] || exit 3; mv -f \"$3\" \"$1\" || exit 3; ";
        List<String> argv = new ArrayList<>(List.of("sh", "-c", swap + "shift 3; exec \"$@\"", "sh", config, ready.hash(),
                ready.next() == null ? "-" : ready.next()));
        argv.addAll(List.of("runuser", "-u", adminUser, "--", "timeout", "10s"));
        argv.addAll(console(commands));
        ExecResult r = b.connection().exec(Cmd.of(argv), ExecOptions.as("root").timeout(Duration.ofSeconds(20)));
        if (r.exitStatus() == 3) {
            b.progress(b.host().name() + ": " + config + " changed since it was read before the pause: re-pointed the slow way");
            return false;
        }
        r.check(b.host().name() + ": pgbouncer " + (ready.next() == null ? "" : "RELOAD, ") + "RESUME");
        return true;
    }

    /** RESUME on {@code paused} hosts as they are (the undo of a failed PAUSE); the hosts where it failed. */
    private List<String> resumeAll(HostContext ctx, List<String> paused) {
        List<String> failed = new ArrayList<>();
        for (String h : paused) {
            try {
                HostContext b = ctx.on(h);
                List<String> dbs = pausedDatabases(b);
                if (!dbs.isEmpty()) {
                    admin(b, each("RESUME", dbs), Duration.ofSeconds(10)).check(h + ": pgbouncer RESUME");
                }
                disarm(b);
                Prepared gone = prepared.remove(h);
                if (gone != null && gone.next() != null) {
                    b.connection().exec(Cmd.of("rm", "-f", gone.next()), ExecOptions.as("root"));
                }
            } catch (RuntimeException e) {
                failed.add(h);
            }
        }
        return failed;
    }

    /** The dead man's switch: a transient timer on the PgBouncer host that RESUMEs it unless disarmed first. */
    private void arm(HostContext b, List<String> databases) {
        if (!"systemd".equals(b.fact(Detached.INIT))) {
            b.progress(b.host().name() + " has no systemd: no timer resumes PgBouncer should this controller be lost");
            return;
        }
        // each RESUME on its own: one that finds its database not paused must not keep the others paused
        String line = each("RESUME", databases).stream().map(c -> Cmd.of(console(List.of(c))).shellLine())
                .collect(java.util.stream.Collectors.joining("; "));
        b.connection().exec(Cmd.of("sh", "-c", "systemctl stop \"$1.timer\" \"$1.service\" 2>/dev/null; systemctl reset-failed \"$1.timer\" \"$1.service\" 2>/dev/null; "
                + "exec systemd-run --quiet --collect --unit=\"$1\" --on-active=\"$2\" --timer-property=AccuracySec=1s -p User=\"$3\" /bin/sh -c \"$4\"",
                "sh", TIMER, resumeAfter.toSeconds() + "s", adminUser, line), ExecOptions.as("root")).check(b.host().name() + ": arming " + TIMER);
    }

    private void disarm(HostContext b) {
        if ("systemd".equals(b.fact(Detached.INIT))) {
            b.connection().exec(Cmd.of("sh", "-c", "systemctl stop \"$1.timer\" 2>/dev/null; true", "sh", TIMER), ExecOptions.as("root"));
        }
    }
}
