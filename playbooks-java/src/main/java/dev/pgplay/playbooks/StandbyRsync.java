package dev.pgplay.playbooks;

import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.Tunnel;
import dev.pgplay.postgres.KeptPsql;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Standbys brought to the new major with the primary's pg_upgrade --link, the way the PostgreSQL
 * documentation describes (seed 000): with the primary stopped and upgraded but the new cluster
 * not started yet, each standby, caught up to the primary's shutdown checkpoint and stopped, gets
 * {@code rsync --archive --delete --hard-links --size-only --no-inc-recursive OLD NEW} from the
 * primary: the catalog files and the new cluster's hard links, not the data (the old cluster's
 * pg_wal excluded: the standby keeps its own). rsync talks to an
 * rsync daemon on the standby's loopback through two SSH forwards and the controller (no SSH
 * trust between the hosts, a one-time secret in 0600 files). A standby where that is not safe
 * or possible is left to {@link StandbyRebuild}'s pg_basebackup, and the report says why.
 * A step of {@link Major}.
 */
final class StandbyRsync {
    static final String RSYNC = "rsync --archive --delete --hard-links --size-only --no-inc-recursive";
    private final Major run;
    /** Per standby, a psql session on its old cluster opened before the window by {@link #restartpoints}. */
    private final Map<String, KeptPsql> sessions = new ConcurrentHashMap<>();
    /** Hosts where {@code rsync} was found in this run (a package does not go away within the run). */
    private final Set<String> withRsync = ConcurrentHashMap.newKeySet();
    /** Standbys whose new cluster got its standby configuration ahead, in this run. */
    private final Set<String> configuredAhead = ConcurrentHashMap.newKeySet();

    StandbyRsync(Major run) {
        this.run = run;
    }

    /** On the primary, between pg_upgrade --link and the start of the new cluster. */
    TaskResult sync(HostContext ctx) throws Exception {
        if (run.status.done(Step.SWAPPED)) {
            return TaskResult.ok("the new cluster has started: standbys are rebuilt after it");
        }
        List<String> plan = List.of("each standby caught up to the shutdown checkpoint " + run.status.get(Key.SHUTDOWN_CHECKPOINT, "C") + ", stopped",
                "its new cluster made, its data directory left to rsync", RSYNC + " OLD NEW (through an rsync daemon on its loopback)");
        return Imperative.of("rsync the upgraded cluster to the standbys", plan).run(ctx, () -> {
            List<String> methods = new ArrayList<>();
            List<String> report = new ArrayList<>();
            boolean changed = false;
            for (String standby : run.m.old().standbys()) {
                HostContext s = ctx.on(standby);
                UpgradeStatus ss = UpgradeStatus.read(s, run.cluster());
                if ("rsync".equals(ss.get(Key.METHOD)) && ss.state() == State.REBUILDING && ss.done(Step.COPIED)) {
                    methods.add(standby + "=rsync");
                    continue;
                }
                String why = oneStandby(ctx, s, report);
                changed = true;
                methods.add(standby + "=" + (why == null ? "rsync" : "pg_basebackup (" + why.replace(';', ',') + ")"));
            }
            closeSessions();
            run.status.put(Key.STANDBY_METHODS, String.join("; ", methods)).save(ctx);
            String text = String.join("; ", methods) + (report.isEmpty() ? "" : " (" + String.join("; ", report).replace(RSYNC + ": ", "") + ")");
            return changed ? Major.changed(text, plan, report) : TaskResult.ok(text);
        });
    }

    /**
     * Before the window, on the primary: each standby rsync can serve gets its new cluster made
     * and configured ahead (manual, on the side port), its old cluster still streaming, so the
     * window only stops it, moves the ports and runs rsync.
     */
    TaskResult prepare(HostContext ctx) throws Exception {
        if (run.status.done(Step.OLD_STOPPED)) {
            return TaskResult.ok("the old primary has stopped: the standbys are taken care of in the window");
        }
        List<String> plan = List.of("on each standby rsync can serve: " + run.m.next().version() + "/" + run.cluster()
                + " made with the configuration carried over (manual, not started)");
        return Imperative.of("standbys' new clusters made ahead", plan).run(ctx, () -> {
            List<String> made = new ArrayList<>();
            List<String> ready = new ArrayList<>();
            for (String standby : run.m.old().standbys()) {
                HostContext s = ctx.on(standby);
                s.forget(PgFacts.CLUSTERS);
                if (staticReason(ctx, s) != null) {
                    continue; // said again, and acted on, in the window
                }
                UpgradeStatus ss = UpgradeStatus.read(s, run.cluster());
                if (prepared(s, ss)) {
                    ready.add(standby);
                    continue;
                }
                run.standbyRebuild.newClusterOn(s, run.status, "rsync", false);
                made.add(standby);
                // where it will stream from, written now: the window only adds standby.signal after rsync
                new Pg(s, run.m.next()).writeStandbyConfig(ctx.inventory().host(run.m.old().primary()).address(), PgSettings.slotFor(standby));
                configuredAhead.add(standby);
            }
            return made.isEmpty() ? TaskResult.ok(ready.isEmpty() ? "no standby for rsync" : "made earlier on " + String.join(", ", ready))
                    : TaskResult.changed("made on " + String.join(", ", made), plan);
        });
    }

    /**
     * Before the window, right after the primary's CHECKPOINT at {@code lsn}: each standby replays
     * past it (5 s at most) and makes a restartpoint, so its own shutdown in the window (a restartpoint
     * that writes every page dirtied by replay since the last one) has little left to write.
     * Best effort: a standby that does not answer is dealt with in the window.
     */
    void restartpoints(HostContext ctx, String lsn) {
        if (!lsn.matches("[0-9A-F]+/[0-9A-F]+")) {
            return;
        }
        for (String standby : run.m.old().standbys()) {
            KeptPsql session = null;
            try {
                session = KeptPsql.open(ctx.on(standby), run.port(), "postgres", "");
                session.rows("DO $$ BEGIN FOR i IN 1..500 LOOP EXIT WHEN pg_last_wal_replay_lsn() >= '" + lsn
                        + "'::pg_lsn; PERFORM pg_sleep(0.01); END LOOP; END $$;\nCHECKPOINT", Duration.ofSeconds(30));
                KeptPsql before = sessions.put(standby, session); // kept for the window's wait for the shutdown checkpoint
                if (before != null) {
                    before.close();
                }
            } catch (RuntimeException e) {
                if (session != null) {
                    session.close();
                }
                ctx.progress(standby + ": no restartpoint ahead of the window (" + e.getMessage() + ")");
            }
        }
    }

    /**
     * Waits (30 s at most) until the standby replayed past the primary's shutdown {@code checkpoint}:
     * through the session {@link #restartpoints} left open, one network round trip, else a psql of its own.
     */
    private boolean replayedPast(HostContext s, String checkpoint) throws InterruptedException {
        KeptPsql session = sessions.remove(s.host().name());
        if (session != null) {
            try (session) {
                List<List<String>> rows = session.rows("DO $$ BEGIN FOR i IN 1..3000 LOOP EXIT WHEN pg_last_wal_replay_lsn() > '" + checkpoint
                        + "'::pg_lsn; PERFORM pg_sleep(0.01); END LOOP; END $$;\nSELECT pg_last_wal_replay_lsn() > '" + checkpoint + "'::pg_lsn",
                        Duration.ofSeconds(40));
                return !rows.isEmpty() && "t".equals(rows.get(rows.size() - 1).get(0));
            } catch (RuntimeException e) {
                s.progress(s.host().name() + ": the session kept for the wait failed (" + e.getMessage() + "); asking again");
            }
        }
        return WaitFor.sql(run.port(), "SELECT pg_last_wal_replay_lsn() > '" + checkpoint + "'::pg_lsn", "t")
                .timeout(Duration.ofSeconds(30)).run(s) instanceof TaskResult.Ok;
    }

    /** Sessions left by {@link #restartpoints} that the window did not use. */
    void closeSessions() {
        sessions.values().forEach(KeptPsql::close);
        sessions.clear();
    }

    /** The standby's new cluster was made ahead by {@link #prepare} and is still there. */
    private boolean prepared(HostContext s, UpgradeStatus ss) {
        return "rsync".equals(ss.get(Key.METHOD)) && ss.state() == State.REBUILDING && ss.done(Step.CONFIG)
                && PgCluster.find(s, run.m.next().version(), run.cluster()).isPresent(); // the list read by the caller
    }

    /** Why rsync cannot serve this standby whatever its state (its layout, tools, tablespaces); null when it can. */
    private String staticReason(HostContext primary, HostContext s) {
        String oldData = run.status.get(Key.OLD_DATA);
        String newData = run.status.get(Key.NEW_DATA);
        Optional<PgFacts.Cluster> old = PgCluster.find(s, run.m.old().version(), run.cluster()); // the list read by the caller
        if (old.isEmpty() || !old.get().dataDir().equals(oldData)) {
            return "its " + run.m.old().version() + " data directory is not " + oldData + " as on the primary";
        }
        if (!newData.equals("/var/lib/postgresql/" + run.m.next().version() + "/" + run.cluster())) {
            return "the primary's new data directory " + newData + " is not where the standby's would be made";
        }
        for (HostContext h : List.of(primary, s)) {
            if (!withRsync.contains(h.host().name())) {
                if (!h.connection().exec(Cmd.of("sh", "-c", "command -v rsync"), ExecOptions.DEFAULT).ok()) {
                    return "rsync is not installed on " + h.host().name();
                }
                withRsync.add(h.host().name());
            }
        }
        if (!Pg.root(primary, Cmd.of("sh", "-c", "[ -z \"$(ls -A \"$1\")\" ] && echo none", "sh", oldData + "/pg_tblspc")).out().equals("none")) {
            return "the cluster has tablespaces (each needs an rsync of its own)";
        }
        return null;
    }

    /** Brings one standby over; null when done, else why it is left to pg_basebackup. */
    private String oneStandby(HostContext primary, HostContext s, List<String> report) throws Exception {
        s.forget(PgFacts.CLUSTERS); // one read of the cluster list serves every check below (70-100 ms each inside the window)
        String why = staticReason(primary, s);
        if (why != null) {
            return why;
        }
        String oldData = run.status.get(Key.OLD_DATA);
        String newData = run.status.get(Key.NEW_DATA);
        Optional<PgFacts.Cluster> old = PgCluster.find(s, run.m.old().version(), run.cluster());
        // the checkpoint of the stop, as the documentation compares before pg_upgrade: pg_upgrade itself starts and
        // stops the old cluster (without TCP, so no standby receives it) and ends at later checkpoints that change no data
        String checkpoint = run.status.get(Key.SHUTDOWN_CHECKPOINT);
        if (checkpoint == null || !checkpoint.matches("[0-9A-F]+/[0-9A-F]+")) {
            return "the primary's shutdown checkpoint was not recorded";
        }
        // from here the standby's old cluster is stopped: a failure before the new cluster starts puts it back (putBack)
        UpgradeStatus ps = run.status;
        PgSettings oldSettings = run.m.old();
        Pg oldPg = new Pg(s, oldSettings);
        UpgradeStatus ss = UpgradeStatus.read(s, run.cluster());
        boolean ahead = prepared(s, ss);
        // a run cut inside rsync left the standby stopped with the primary's files in part (its pg_control perhaps
        // deleted, the primary's pg_control.old copied): it was found at this checkpoint before rsync began
        boolean foundBefore = !old.get().online() && "rsync".equals(ss.get(Key.METHOD)) && ss.state() == State.REBUILDING
                && checkpoint.equals(ss.get(Key.SHUTDOWN_CHECKPOINT));
        if (!ahead) {
            UpgradeStatus mark = UpgradeStatus.fresh(run.cluster()).state(State.REBUILDING).put(Key.METHOD, "rsync").put(Key.OLD_VERSION, oldSettings.version())
                    .put(Key.NEW_VERSION, run.m.next().version()).put(Key.OLD_DATA, oldData).put(Key.SIDE_PORT, ps.number(Key.SIDE_PORT)).put(Key.PORT, run.port())
                    .put(Key.NEW_CREATED, ss.flag(Key.NEW_CREATED) ? true : null) // a new cluster of an earlier run stays ours
                    .put(Key.SHUTDOWN_CHECKPOINT, foundBefore ? checkpoint : null);
            mark.save(s);
        }
        // the rsync daemon and its forwards are made while the standby catches up and stops
        CompletableFuture<Daemon> daemon = CompletableFuture.supplyAsync(() -> startDaemon(primary, s), r -> {
            Thread t = new Thread(r, "rsync-daemon-" + s.host().name());
            t.setDaemon(true);
            t.start();
        });
        try {
            if (old.get().online() && !replayedPast(s, checkpoint)) {
                return "it had not replayed the primary's shutdown checkpoint " + checkpoint + " within 30 s";
            }
            if (ahead) {
                // made before the window on the side port: the old cluster takes the side port, the new one the main port (the two
                // pg_conftool, perl, 100 ms each, at once), in the round trip that keeps the old one from being started again (its
                // running server keeps its port until it stops); the cluster list is read again after the stop
                Pg.root(s, oldPg.startConfCmd("manual", false)
                        .and(Cmd.of("pg_conftool", run.m.old().version(), run.cluster(), "set", "port", String.valueOf(ps.number(Key.SIDE_PORT)))
                                .alongside(Cmd.of("pg_conftool", run.m.next().version(), run.cluster(), "set", "port", String.valueOf(run.port())))));
            } else {
                oldPg.startConf("manual", false);
            }
            if (!foundBefore) {
                Map<String, String> control = old.get().online() ? oldPg.stopAndReadControl() : stoppedControl(s, oldData);
                String at = control.getOrDefault("Latest checkpoint location", "?");
                if (!at.equals(checkpoint)) {
                    return "its last restartpoint " + at + " is not the primary's shutdown checkpoint " + checkpoint;
                }
            }
            s.forget(PgFacts.CLUSTERS); // ports and states changed
            UpgradeStatus mine = ahead ? ss : run.standbyRebuild.newClusterOn(s, ps, "rsync");
            mine.put(Key.SHUTDOWN_CHECKPOINT, checkpoint).save(s); // found there: from here rsync changes the old directory
            Pg.root(s, Cmd.of("rm", "-rf", "--", newData)); // rsync makes it; a file left there of the same size would be kept
            long t0 = System.nanoTime();
            Daemon d = joined(daemon);
            String stats = d.rsync(layout(oldData, newData));
            if (configuredAhead.contains(s.host().name())) {
                d.close(Cmd.of("install", "-o", "postgres", "-g", "postgres", "-m", "0600", "/dev/null", newData + "/standby.signal"));
            } else {
                d.close(null);
                new Pg(s, run.m.next()).writeStandbyConfig(primary.inventory().host(run.m.old().primary()).address(), PgSettings.slotFor(s.host().name()));
            }
            mine.put(Key.MESSAGE, stats + ", " + (System.nanoTime() - t0) / 1_000_000 + " ms").done(Step.COPIED, s);
            report.add(s.host().name() + ": " + RSYNC + ": " + stats + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            return null;
        } finally {
            try {
                joined(daemon).close(null); // nothing when closed above
            } catch (RuntimeException e) {
                // it never listened, or its files could not be removed: the next daemon's start clears them
            }
        }
    }

    private static <T> T joined(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * pg_controldata of a stopped old cluster; an rsync cut by a lost controller may have left
     * only the primary's pg_control.old (pg_upgrade --link renamed it there), which is read then.
     */
    private Map<String, String> stoppedControl(HostContext s, String data) {
        String out = Pg.root(s, Cmd.of("sh", "-c", "c=\"$2/global/pg_control\"; [ -e \"$c\" ] || c=\"$c.old\"; d=$(mktemp -d) && mkdir \"$d/global\" "
                + "&& cp \"$c\" \"$d/global/pg_control\" && LC_ALL=C \"$1/pg_controldata\" -D \"$d\"; rc=$?; rm -rf \"$d\"; exit $rc",
                "sh", run.m.oldBinDir(), data)).stdout();
        return Pg.parseControl(out);
    }

    /** The daemon's configuration on the standby: one module, the data directories' common parent, loopback only. */
    static String daemonConfig(String base, String secrets, String pid) {
        return "pid file = " + pid + "\nuse chroot = no\n[pgplay]\n  path = " + base + "\n  read only = no\n  uid = root\n  gid = root\n"
                + "  auth users = pgplay\n  secrets file = " + secrets + "\n  strict modes = yes\n  hosts allow = 127.0.0.1\n";
    }

    /** The directory both data directories are under, and each one's path relative to it. */
    static List<String> layout(String oldData, String newData) {
        Path o = Path.of(oldData);
        Path n = Path.of(newData);
        Path base = o.getParent();
        while (base != null && !n.startsWith(base)) {
            base = base.getParent();
        }
        if (base == null) {
            throw new IllegalArgumentException("no common directory above " + oldData + " and " + newData);
        }
        return List.of(base.toString(), base.relativize(o).toString(), base.relativize(n).toString());
    }

    /**
     * Starts the daemon ({@code $1}: its private directory, {@code $2}: its configuration, {@code $3}:
     * a port below 1024, which only root may bind; the secret on stdin), and prints {@code port=$3}
     * once {@code ss} shows that port's listening socket held by the pid the daemon wrote in its own
     * root-only directory: the transfer goes only to the daemon this run started, never to a
     * listener of someone else's. Exit 2 when the daemon ended (the port was taken: try another),
     * 1 with its log when it does not listen in 5 s.
     */
    static final String START_DAEMON = "for f in /run/pgplay-rsync-*/pid; do [ -e \"$f\" ] && kill \"$(cat \"$f\")\" 2>/dev/null; done; "
            + "rm -rf /run/pgplay-rsync-*; umask 077; install -d -m 0700 \"$1\" && cat > \"$1/secrets\" && printf '%s' \"$2\" > \"$1/rsyncd.conf\" || exit 1\n"
            + "setsid timeout 3600 rsync --daemon --no-detach --config=\"$1/rsyncd.conf\" --address=127.0.0.1 --port=\"$3\" </dev/null >\"$1/log\" 2>&1 &\n"
            + "i=0; while :; do p=$(cat \"$1/pid\" 2>/dev/null); "
            + "if [ -n \"$p\" ]; then ss -ltnpH \"sport = :$3\" 2>/dev/null | grep -q \"pid=$p,\" && { echo \"port=$3\"; exit 0; }; "
            + "kill -0 \"$p\" 2>/dev/null || { cat \"$1/log\"; exit 2; }; fi; i=$((i+1)); "
            + "[ $i -lt 250 ] || { cat \"$1/log\"; command -v ss >/dev/null || echo 'ss (iproute2) is missing'; exit 1; }; sleep 0.02; done";

    /**
     * An rsync daemon on the standby's loopback (one module, a one-time secret in 0600 files on
     * both hosts, given on stdin), reached from the primary through two SSH forwards and the
     * controller; it ends by itself within the hour if nothing stops it (a lost controller).
     * Its port is below 1024 (no local user but root can bind it first) and proven to be the
     * daemon's own socket ({@link #START_DAEMON}); a port someone else's service holds is left for another.
     */
    private Daemon startDaemon(HostContext primary, HostContext s) {
        String secret = HexFormat.of().formatHex(randomBytes(24));
        String base = layout(run.status.get(Key.OLD_DATA), run.status.get(Key.NEW_DATA)).get(0);
        String dir = null;
        int port = 0;
        ExecResult started = null;
        for (int attempt = 0; attempt < 5 && port == 0; attempt++) {
            dir = "/run/pgplay-rsync-" + HexFormat.of().formatHex(randomBytes(8));
            int tried = 600 + new SecureRandom().nextInt(424);
            started = s.connection().exec(Cmd.of("sh", "-c", START_DAEMON, "sh", dir, daemonConfig(base, dir + "/secrets", dir + "/pid"),
                    String.valueOf(tried)), ExecOptions.as("root").stdin(("pgplay:" + secret + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            if (started.ok() && started.stdout().contains("port=" + tried)) {
                port = tried;
            } else if (started.exitStatus() != 2) {
                break;
            }
        }
        if (port == 0) {
            new Daemon(primary, s, dir).close(null);
            throw new IllegalStateException(s.host().name() + ": the rsync daemon was not listening on 127.0.0.1 as its own process: "
                    + dev.pgplay.core.ssh.RemoteCommandException.lastLines(started.stdout() + "\n" + started.stderr(), 3));
        }
        Daemon d = new Daemon(primary, s, dir);
        try {
            primary.connection().exec(Cmd.of("sh", "-c", "rm -rf /run/pgplay-rsync-*; umask 077; install -d -m 0700 \"$1\" && cat > \"$1/password\"", "sh", dir),
                    ExecOptions.as("root").stdin((secret + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8))).check(primary.host().name());
            d.toStandby = s.connection().forward("127.0.0.1", port);
            d.onPrimary = primary.connection().back(d.toStandby.localPort());
            return d;
        } catch (RuntimeException e) {
            d.close(null);
            throw e;
        }
    }

    /** See {@link #startDaemon}: runs rsync on the primary through it; closing it stops the daemon and removes both hosts' files. */
    private static final class Daemon {
        private final HostContext primary;
        private final HostContext standby;
        private final String dir;
        private Tunnel toStandby;
        private Tunnel onPrimary;
        private boolean closed;

        Daemon(HostContext primary, HostContext standby, String dir) {
            this.primary = primary;
            this.standby = standby;
            this.dir = dir;
        }

        /** rsync OLD NEW, {@code layout} as {@link #layout} gives it; its statistics. */
        String rsync(List<String> layout) {
            // the old cluster's pg_wal stays the standby's own: the primary's differs by its recycled segments (16 MB each,
            // most of what would be sent) and the new cluster needs none of it; only with a path rsync reads literally
            List<String> cmd = new ArrayList<>(List.of("sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", layout.get(0)));
            cmd.addAll(List.of(RSYNC.split(" ")));
            cmd.addAll(List.of("--relative", "--stats", "--password-file=" + dir + "/password"));
            if (layout.get(1).matches("[^*?\\[\\\\]+")) {
                cmd.add("--exclude=/" + layout.get(1) + "/pg_wal/");
            }
            cmd.addAll(List.of("./" + layout.get(1), "./" + layout.get(2), "rsync://pgplay@127.0.0.1:" + onPrimary.localPort() + "/pgplay/"));
            ExecResult r = primary.connection().exec(Cmd.of(cmd), ExecOptions.as("root").timeout(Duration.ofMinutes(30))).check(primary.host().name());
            return stat(r.stdout(), "Number of files") + " files, " + stat(r.stdout(), "Total bytes sent") + " bytes sent";
        }

        /** Forwards closed, the daemon stopped and both hosts' files removed (at once), then {@code andThen} on the standby as root. */
        synchronized void close(Cmd andThen) {
            if (closed) {
                return;
            }
            closed = true;
            for (Tunnel t : java.util.Arrays.asList(onPrimary, toStandby)) {
                if (t != null) {
                    t.close();
                }
            }
            CompletableFuture<Void> onPrimaryHost = CompletableFuture.runAsync(() -> Pg.root(primary, Cmd.of("rm", "-rf", dir)), r -> {
                Thread t = new Thread(r, "rsync-cleanup-" + primary.host().name());
                t.setDaemon(true);
                t.start();
            });
            Cmd stop = Cmd.of("sh", "-c", "[ ! -e \"$1/pid\" ] || kill \"$(cat \"$1/pid\")\" 2>/dev/null; rm -rf \"$1\"", "sh", dir);
            Pg.root(standby, andThen == null ? stop : stop.and(andThen));
            joined(onPrimaryHost);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static String stat(String out, String name) {
        return out.lines().filter(x -> x.startsWith(name + ":")).map(x -> x.substring(name.length() + 1).trim().split(" ")[0]).findFirst().orElse("?");
    }

    /**
     * The upgrade goes back before the new cluster started: each standby this step stopped (and
     * perhaps synced: rsync removed its pg_control and standby.signal like the primary's) is a
     * standby of the old cluster again, started, its new cluster dropped.
     */
    void putBack(HostContext primary) {
        for (String standby : run.m.old().standbys()) {
            try {
                putBackStandby(primary.on(standby));
            } catch (RuntimeException e) {
                // the primary is back and takes writes; this standby needs a clone
                run.notes.add(standby + ": could not be put back as a standby of " + run.m.old().version() + " (" + e.getMessage()
                        + "); clone it again with: playbook cluster-setup -e force-reclone=true --limit " + standby);
            }
        }
    }

    private void putBackStandby(HostContext s) {
        UpgradeStatus ss = UpgradeStatus.read(s, run.cluster());
        if (!"rsync".equals(ss.get(Key.METHOD)) || ss.state() != State.REBUILDING) {
            return;
        }
        if (run.find(s, run.m.next().version()).isPresent()) {
            Pg.root(s, Cmd.of("pg_dropcluster", "--stop", run.m.next().version(), run.cluster()));
        }
        Pg old = new Pg(s, run.m.old());
        String data = ss.get(Key.OLD_DATA);
        Pg.root(s, Cmd.of("sh", "-c", "[ -e \"$1/global/pg_control\" ] || mv \"$1/global/pg_control.old\" \"$1/global/pg_control\"", "sh", data));
        Pg.root(s, Cmd.of("install", "-o", "postgres", "-g", "postgres", "-m", "0600", "/dev/null", data + "/standby.signal"));
        Pg.root(s, Cmd.of("pg_conftool", run.m.old().version(), run.cluster(), "set", "port", String.valueOf(run.port())));
        s.forget(PgFacts.CLUSTERS);
        old.startConf("auto", false);
        if (!old.online()) {
            old.start();
        }
        ss.state(State.ROLLED_BACK).put(Key.MESSAGE, "put back as a standby of " + run.m.old().version()).save(s);
    }
}
