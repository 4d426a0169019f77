package dev.pgplay.postgres;

import dev.pgplay.core.modules.Facts;
import dev.pgplay.core.modules.FileContent;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import dev.pgplay.core.ssh.UnreachableException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reading and steering one PostgreSQL node over SSH, for the playbooks. */
public final class Pg {
    private final HostContext ctx;
    private final PgSettings s;

    public Pg(HostContext ctx, PgSettings settings) {
        this.ctx = ctx;
        this.s = settings;
    }

    public String name() {
        return ctx.host().name();
    }

    /** The cluster as pg_lsclusters shows it now (not cached). */
    public PgFacts.Cluster cluster() {
        ctx.forget(PgFacts.CLUSTERS);
        return ctx.fact(PgFacts.CLUSTERS).stream()
                .filter(c -> c.version().equals(s.version()) && c.name().equals(s.cluster())).findFirst()
                .orElseThrow(() -> new IllegalStateException("no PostgreSQL cluster " + s.version() + "/" + s.cluster()
                        + " on " + name() + " (pg_lsclusters); install postgresql-" + s.version() + " and create it"));
    }

    /** The server accepts a query now. */
    public boolean answers() {
        try {
            sql("SELECT 1");
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** Waits until the cluster is down or answers (a restart by someone else ends); its state then. */
    public PgFacts.Cluster awaitAnswer(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        PgFacts.Cluster c = cluster();
        while (c.online() && !answers() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(name() + ": interrupted", e);
            }
            c = cluster();
        }
        return c;
    }

    public boolean online() {
        return cluster().online();
    }

    /** The data directory (it does not move during a run: read from the cached cluster list when there is one). */
    public String dataDir() {
        return ctx.fact(PgFacts.CLUSTERS).stream()
                .filter(c -> c.version().equals(s.version()) && c.name().equals(s.cluster())).findFirst()
                .map(PgFacts.Cluster::dataDir).orElseGet(() -> cluster().dataDir());
    }

    public String bin(String program) {
        return "/usr/lib/postgresql/" + s.version() + "/bin/" + program;
    }

    public String sql(String query) {
        return Psql.value(ctx, s.port(), query);
    }

    public List<List<String>> rows(String query) {
        return Psql.rows(ctx, s.port(), query);
    }

    public boolean inRecovery() {
        return "t".equals(sql("SELECT pg_is_in_recovery()"));
    }

    public String serverVersion() {
        return sql("SHOW server_version");
    }

    /** WAL receiver status and the host it streams from; empty when none runs. */
    public Optional<List<String>> receiver() {
        List<List<String>> r = rows("SELECT status, sender_host, coalesce(flushed_lsn::text, '') FROM pg_stat_wal_receiver");
        return r.isEmpty() ? Optional.empty() : Optional.of(r.get(0));
    }

    public boolean streamingFrom(String address) {
        return receiver().map(r -> "streaming".equals(r.get(0)) && address.equals(r.get(1))).orElse(false);
    }

    /** pg_controldata of the data directory (works with the server down). */
    public Map<String, String> controlData() {
        ExecResult r = ctx.connection().exec(Cmd.of(bin("pg_controldata"), "-D", dataDir()).env("LC_ALL", "C"), ExecOptions.as("postgres"))
                .check(name());
        return parseControl(r.stdout());
    }

    public static Map<String, String> parseControl(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return out;
    }

    /** Installed version of a package (not cached). */
    public String installed(String pkg) {
        ctx.forget(Facts.installedVersion(pkg));
        return ctx.fact(Facts.installedVersion(pkg));
    }

    public String candidate(String pkg) {
        ctx.forget(Facts.candidateVersion(pkg));
        return ctx.fact(Facts.candidateVersion(pkg));
    }

    public ExecResult root(Cmd cmd) {
        return root(ctx, cmd);
    }

    /** A command as root (10 minutes at most); fails when it exits non-zero. */
    public static ExecResult root(HostContext ctx, Cmd cmd) {
        return ctx.connection().exec(cmd, ExecOptions.as("root").timeout(Duration.ofMinutes(10))).check(ctx.host().name());
    }

    public ExecResult postgres(Cmd cmd) {
        return ctx.connection().exec(cmd, ExecOptions.as("postgres").timeout(Duration.ofMinutes(30)).onLine(ctx::progress)).check(name());
    }

    /**
     * {@code default_transaction_read_only = 'on'} appended to postgresql.auto.conf of the data
     * directory {@code data}, as postgres (the directory is postgres's: a root write there could be
     * led through a link to any file).
     */
    public static void markReadOnly(HostContext ctx, String data) {
        ctx.connection().exec(Cmd.of("sh", "-c", "umask 077 && printf '%s\\n' \"default_transaction_read_only = 'on'\" >> \"$1/postgresql.auto.conf\"",
                "sh", data), ExecOptions.as("postgres")).check(ctx.host().name() + ": " + data + "/postgresql.auto.conf");
    }

    /** Starts the cluster through Debian's wrapper (reads /etc/postgresql config). */
    /**
     * Starts the cluster: through pg_ctlcluster (systemd's unit) where systemd runs; elsewhere with
     * pg_ctl on the Debian config directory, whose -w answers within ~100 ms of the server being
     * ready instead of pg_ctlcluster's 0.5 s polling.
     */
    public void start() {
        start(dataDir());
    }

    /** {@link #start()} of the cluster whose data directory the caller knows (no pg_lsclusters). */
    public void start(String data) {
        ctx.forget(PgFacts.CLUSTERS);
        boolean systemd = "systemd".equals(ctx.fact(Facts.INIT));
        Cmd cmd = systemd ? Cmd.of("sh", "-c", START_UNIT, "sh", "postgresql@" + s.version() + "-" + s.cluster() + ".service", data)
                : Cmd.of(bin("pg_ctl"), "-D", s.confDir(), "-l", logFile(), "-w", "-t", "600", "start");
        ExecResult r = ctx.connection().exec(cmd, ExecOptions.as(systemd ? "root" : "postgres").timeout(Duration.ofMinutes(11)));
        if (!r.ok()) {
            // the server's own words are in its log, not in pg_ctlcluster's output
            String log = ctx.connection().exec(Cmd.of("tail", "-n", "40", logFile()),
                    ExecOptions.as("root")).stdout();
            String reasons = log.lines().filter(l -> l.contains("FATAL") || l.contains("PANIC") || l.contains("ERROR"))
                    .reduce((a, b) -> a + " | " + b).orElse(r.stderr().strip());
            throw new IllegalStateException(name() + ": PostgreSQL " + s.version() + "/" + s.cluster() + " did not start: " + reasons);
        }
    }

    /**
     * Starts a cluster's systemd unit and returns once the server is ready, as {@code pg_ctl -w}
     * judges it: its postmaster.pid says {@code ready} (or {@code standby}) and its process lives.
     * The unit's start job goes on: pg_ctlcluster's own probe of the port takes two seconds or
     * more (a 0.5 s sleep, then three connections 0.5 s apart), which the upgrades' windows of
     * refused writes would otherwise pay. A start that fails (systemctl exits non-zero before the
     * server is ready) fails with systemctl's words; the caller adds the server's log.
     * $1: the unit, $2: the data directory.
     */
    static final String START_UNIT = """
            err=$(mktemp) || exit 1
            systemctl start "$1" >/dev/null 2>"$err" & sc=$!
            i=0
            while :; do
              if [ -r "$2/postmaster.pid" ]; then
                pid=$(sed -n 1p "$2/postmaster.pid"); st=$(sed -n 8p "$2/postmaster.pid")
                case $st in ready*|standby*) if kill -0 "$pid" 2>/dev/null; then rm -f "$err"; exit 0; fi ;; esac
              fi
              if [ -n "$sc" ] && ! kill -0 "$sc" 2>/dev/null; then
                wait "$sc"; rc=$?; sc=
                if [ "$rc" -ne 0 ]; then cat "$err" >&2; rm -f "$err"; exit "$rc"; fi
              fi
              i=$((i+1)); [ "$i" -lt 30000 ] || { echo "$1: not ready after 600 s" >&2; rm -f "$err"; exit 1; }
              sleep 0.02
            done
            """;

    /**
     * Starts the cluster and returns at once where systemd runs ({@code systemctl start --no-block}
     * on its unit); the caller waits for what it needs (a standby streaming) by asking the server.
     * Elsewhere the same as {@link #start}.
     */
    public void startNoWait() {
        ctx.forget(PgFacts.CLUSTERS);
        if (!"systemd".equals(ctx.fact(Facts.INIT))) {
            start();
            return;
        }
        root(Cmd.of("systemctl", "start", "--no-block", "postgresql@" + s.version() + "-" + s.cluster() + ".service"));
    }

    public String logFile() {
        return "/var/log/postgresql/postgresql-" + s.version() + "-" + s.cluster() + ".log";
    }

    /**
     * Waits (inside one psql session, 20 ms steps) until the WAL receiver streams from
     * {@code address}; false after {@code seconds} or when the server is not up.
     */
    public boolean waitStreamingFrom(String address, int seconds) {
        try {
            return "t".equals(sql("DO $$ BEGIN FOR i IN 1.." + (seconds * 50) + " LOOP EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver "
                    + "WHERE status = 'streaming' AND sender_host = " + Psql.literal(address) + "); PERFORM pg_sleep(0.02); END LOOP; END $$; "
                    + "SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_host = " + Psql.literal(address) + ")"));
        } catch (IllegalStateException e) {
            return false; // not up (yet): the caller decides what is next
        }
    }

    /** Fast shutdown with pg_ctl -w (answers within ~100 ms of the postmaster exiting). */
    public void stopFast() {
        postgres(Cmd.of(bin("pg_ctl"), "-D", dataDir(), "-m", "fast", "-w", "-t", "120", "stop"));
    }

    /**
     * Fast shutdown (SIGINT to the postmaster, as pg_ctl -m fast; its checkpoint flushes everything),
     * drop default_transaction_read_only from postgresql.auto.conf, then pg_controldata: one round
     * trip as postgres. Returns as soon as pg_control holds the clean shutdown checkpoint: from
     * then the server writes no WAL and takes no connection; its postmaster may still be handing
     * the last WAL to its standbys and turning connection attempts away ({@code postmaster:
     * stopping} in the result; {@link #awaitExit} waits for it).
     * When the shutdown was clean, the same script fences the node before anything else can start
     * it (a package's postinst, a reboot): standby.signal plus {@code fenceConf} as
     * conf.d/pgplay-standby.conf, so it can only ever start as a standby; then it appends
     * {@code state=stopped} and the checkpoint to the switchover journal. Hang-ups and closed pipes
     * are ignored: a controller lost mid-way does not leave a stopped node unfenced.
     */
    public Map<String, String> stopAndFence(String fenceConf) {
        return stop(fenceConf, true);
    }

    /**
     * The stop, in perl (perl-base is essential on Debian, and postgresql-common is written in it):
     * one process started before the signal, so the wait that follows forks nothing; a shell loop
     * of pg_controldata, sed and sleep cost 60-140 ms a round on a loaded host. Arguments: bin,
     * data, conf.d, fence config ("" for none), journal, and "checkpoint" to return once
     * pg_control's state (a 4-byte field at offset 16, the same since PostgreSQL 9) says
     * {@code shut down} and pg_controldata (its CRC checked) agrees, else at the postmaster's exit.
     * The fence config is staged before the signal (conf.d reads *.conf only) and put in place
     * only after a clean shutdown.
     */
    static final String STOP = """
            use strict; use warnings; use IO::Handle;
            $SIG{HUP} = 'IGNORE'; $SIG{PIPE} = 'IGNORE';
            my ($bin, $data, $confd, $fence, $journal, $mode) = @ARGV;
            sub slurp { open(my $h, '<', $_[0]) or return undef; local $/; my $c = <$h>; close $h; return $c; }
            sub put { my ($f, $text, $how) = @_; open(my $h, $how, $f) or die "$f: $!\\n"; print $h $text or die "$f: $!\\n"; $h->sync or die "$f: $!\\n"; close $h or die "$f: $!\\n"; }
            sub syncdir { open(my $h, '<', $_[0]) or return; $h->sync; close $h; }
            sub state { open(my $h, '<:raw', "$data/global/pg_control") or return -1; my $n = sysread($h, my $b, 24); close $h;
              return defined $n && $n == 24 ? unpack('L', substr($b, 16, 4)) : -1; }
            my ($pid) = (slurp("$data/postmaster.pid") // '') =~ /^(\\d+)/ or die "$data: no postmaster.pid: the server is not running\\n";
            put("$confd/pgplay-standby.conf.new", $fence, '>') if $fence ne '';
            kill('INT', $pid) or die "could not signal the postmaster ($pid): $!\\n";
            $ENV{LC_ALL} = 'C';
            sub controldata { open(my $h, '-|', "$bin/pg_controldata", '-D', $data) or die "pg_controldata: $!\\n"; my $c = do { local $/; <$h> } // '';
              close $h or die "pg_controldata -D $data failed\\n"; return $c; }
            my ($running, $control, $until) = (0, undef, time + 120);
            while (kill(0, $pid)) {
              if ($mode eq 'checkpoint' && state() == 1) {
                my $c = controldata();
                if ($c =~ /^Database cluster state: *shut down$/m && $c !~ /^WARNING/m) { ($running, $control) = (1, $c); last; }
              }
              die "the postmaster did not exit in 120 s\\n" if time > $until;
              select(undef, undef, undef, 0.002);
            }
            my $auto = slurp("$data/postgresql.auto.conf");
            if (defined $auto && $auto =~ /^default_transaction_read_only *=/m) {
              $auto =~ s/^default_transaction_read_only *=.*\\n?//mg;
              put("$data/postgresql.auto.conf.pgplay", $auto, '>');
              rename("$data/postgresql.auto.conf.pgplay", "$data/postgresql.auto.conf") or die "postgresql.auto.conf: $!\\n";
            }
            $control //= controldata();
            my ($state) = $control =~ /^Database cluster state: *(.*)$/m;
            if ($fence ne '') {
              if (($state // '') eq 'shut down') {
                my ($checkpoint) = $control =~ /^Latest checkpoint location: *(.*)$/m;
                rename("$confd/pgplay-standby.conf.new", "$confd/pgplay-standby.conf") or die "$confd/pgplay-standby.conf: $!\\n";
                put("$data/standby.signal", '', '>');
                chmod(0600, "$data/standby.signal");
                put($journal, "fenced=standby.signal\\ncheckpoint=$checkpoint\\nstate=stopped\\n", '>>');
                syncdir($confd); syncdir($data);
              } else {
                unlink("$confd/pgplay-standby.conf.new");
              }
            }
            print $control, 'postmaster: ', ($running && kill(0, $pid) ? 'stopping' : 'exited'), "\\n";
            """;

    private Map<String, String> stop(String fenceConf, boolean untilCheckpoint) {
        ExecResult r = postgres(Cmd.of("perl", "-e", STOP, "/usr/lib/postgresql/" + s.version() + "/bin", dataDir(), s.confDir() + "/conf.d",
                fenceConf, SwitchoverJournal.path(s), untilCheckpoint ? "checkpoint" : "exit"));
        return parseControl(r.stdout());
    }

    /**
     * Waits (20 ms steps, at most {@code limit}) while the postmaster of this data directory is
     * shutting down (its postmaster.pid says {@code stopping}), as after a {@link #stopAndFence}
     * that returned at the shutdown checkpoint; true when none is (a running server is left alone).
     * After 2 s, the postmaster's children still reading a connection's startup packet (they still
     * bear the postmaster's own command line) are ended: turned away anyway, a client that gave up
     * mid-handshake (its VIP moved) would keep the postmaster until authentication_timeout (60 s);
     * such a child exits at once on SIGTERM and has touched nothing shared. Throws when the wait
     * itself fails (perl or sudo), which is not the limit passing.
     */
    public boolean awaitExit(Duration limit) {
        long steps = Math.max(1, limit.toMillis() / 20);
        ExecResult r = ctx.connection().exec(Cmd.of("perl", "-e", AWAIT_EXIT, dataDir(), String.valueOf(steps)),
                ExecOptions.as("postgres").timeout(limit.plusSeconds(30)));
        ctx.forget(PgFacts.CLUSTERS);
        if (r.exitStatus() > 1) {
            throw new RemoteCommandException(name(), r); // the wait itself failed (not the limit): never read as "still stopping"
        }
        return r.ok();
    }

    static final String AWAIT_EXIT = """
            use strict; use warnings;
            my ($data, $steps) = @ARGV;
            sub slurp { open(my $h, '<', $_[0]) or return undef; local $/; my $c = <$h>; close $h; return $c; }
            sub stopping { my @l = split /\\n/, (slurp("$data/postmaster.pid") // ''); return @l > 7 && $l[7] =~ /^stopping/ && kill(0, $l[0]) ? $l[0] : 0; }
            for my $i (1 .. $steps) {
              my $pm = stopping() or exit 0;
              if ($i == 100) {
                my $cmd = slurp("/proc/$pm/cmdline") // '';
                opendir(my $d, '/proc') or die "/proc: $!\\n";
                for my $c (grep { /^\\d+$/ } readdir $d) {
                  my $st = slurp("/proc/$c/stat") // next;
                  kill('TERM', $c) if $st =~ /\\)\\s+\\S+\\s+(\\d+)/ && $1 == $pm && $cmd ne '' && (slurp("/proc/$c/cmdline") // '') eq $cmd;
                }
              }
              select(undef, undef, undef, 0.02);
            }
            exit 1;
            """;

    /** {@link #stopAndFence} without the fence, returning once the postmaster exited (the major upgrades fence by start.conf). */
    public Map<String, String> stopAndReadControl() {
        return stop("", false);
    }

    /**
     * Nothing may start this cluster (a reboot, a package's postinst): start.conf {@code manual},
     * the original kept in start.conf.pgplay-held until {@link #releaseStart}.
     */
    public void holdStart() {
        startConf("manual", true);
    }

    /**
     * Writes start.conf (auto: started at boot and by package scripts; manual: only when asked),
     * atomically and synced; {@code keep}: the file as it was is kept in start.conf.pgplay-held
     * unless one is kept already.
     */
    public void startConf(String value, boolean keep) {
        root(startConfCmd(value, keep));
    }

    /**
     * The command {@link #startConf} runs, to chain with others in one round trip (as root): the
     * files are written as postgres, whose directory it is (a root write there could be led through
     * a link to any file).
     */
    public Cmd startConfCmd(String value, boolean keep) {
        return Cmd.of("runuser", "-u", "postgres", "--", "sh", "-c", "umask 022; [ \"$3\" = no ] || [ -e \"$1.pgplay-held\" ] || cp -p \"$1\" \"$1.pgplay-held\"; "
                + "rm -f \"$1.new\" && printf '%s\\n' \"$2\" > \"$1.new\" && mv -f \"$1.new\" \"$1\" && sync \"$1\"",
                "sh", s.confDir() + "/start.conf", value, keep ? "yes" : "no");
    }

    /** start.conf as it was before {@link #holdStart} (nothing when it was not held). */
    public void releaseStart() {
        String conf = s.confDir() + "/start.conf";
        root(Cmd.of("sh", "-c", "[ ! -e \"$1.pgplay-held\" ] || mv -f \"$1.pgplay-held\" \"$1\"", "sh", conf));
    }

    public String basebackupUnit() {
        return "basebackup-" + s.version() + "-" + s.cluster();
    }

    /**
     * Replaces the (stopped) data directory by a pg_basebackup clone of {@code primaryAddress} and
     * starts it as a standby. The old directory is set aside until the clone runs; start.conf is
     * {@code manual} meanwhile, so a reboot or a package's scripts cannot start a half-made clone.
     * pg_basebackup runs detached: when the controller or its session is lost it goes on, and
     * {@link #recoverCutClone} (the next run) ends it before putting the old directory back.
     */
    public void cloneFrom(String primaryAddress, String slot) {
        String data = dataDir();
        String aside = data + ".pgplay-old";
        holdStart();
        root(Cmd.of("rm", "-rf", aside));
        root(Cmd.of("mv", data, aside));
        try {
            root(Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", data));
            Detached.run(ctx, basebackupUnit(), Cmd.of(bin("pg_basebackup"), "-h", primaryAddress, "-p", String.valueOf(s.port()),
                    "-U", s.replicationUser(), "-D", data, "-X", "stream", "-S", slot, "-c", "fast", "--no-password", "--progress"),
                    "postgres", Duration.ofHours(12)).check(name());
        } catch (UnreachableException e) {
            throw e; // the clone may still run: the next run ends it before it puts anything back
        } catch (RuntimeException e) {
            root(Cmd.of("rm", "-rf", data));
            root(Cmd.of("mv", aside, data));
            releaseStart();
            throw new IllegalStateException("pg_basebackup failed, the old data directory was put back: " + e.getMessage(), e);
        }
        writeStandbyConfig(primaryAddress, slot);
        releaseStart();
        start();
        root(Cmd.of("rm", "-rf", aside));
    }

    /**
     * A clone cut by a lost controller (the old data directory still set aside): its pg_basebackup
     * is ended first (never undo while it runs), then the half-made directory is replaced by the
     * one set aside, and start.conf is given back.
     */
    public void recoverCutClone() {
        String aside = dataDir() + ".pgplay-old";
        if (!ctx.connection().exec(Cmd.of("test", "-d", aside), ExecOptions.as("root")).ok()) {
            return;
        }
        if (Detached.running(ctx, basebackupUnit())) {
            ctx.progress("ending the pg_basebackup of an earlier run before putting the old data directory back");
            Detached.stop(ctx, basebackupUnit());
        }
        root(Cmd.of("rm", "-rf", dataDir()));
        root(Cmd.of("mv", aside, dataDir()));
        releaseStart();
    }

    /** Lifts the fence of an old primary that must serve again: no standby.signal, no standby config. */
    public void unfence() {
        root(Cmd.of("rm", "-f", dataDir() + "/standby.signal", s.confDir() + "/conf.d/pgplay-standby.conf"));
    }

    /** Whether the data directory has standby.signal (the node can only start as a standby). */
    public boolean fenced() {
        return ctx.connection().exec(Cmd.of("test", "-e", dataDir() + "/standby.signal"), ExecOptions.as("postgres")).ok();
    }

    public void restart() {
        root(Cmd.of("pg_ctlcluster", s.version(), s.cluster(), "restart"));
    }

    /** Makes this node a standby of {@code primaryAddress}: standby.signal plus conf.d/pgplay-standby.conf. */
    public void writeStandbyConfig(String primaryAddress, String slot) {
        String conf = standbyConf(primaryAddress, slot);
        ctx.connection().upload(conf.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                s.confDir() + "/conf.d/pgplay-standby.conf", "0644", "postgres:postgres");
        root(Cmd.of("install", "-o", "postgres", "-g", "postgres", "-m", "0600", "/dev/null", dataDir() + "/standby.signal"));
    }

    /** conf.d/pgplay-standby.conf: where this node replicates from when it is a standby. */
    public String standbyConf(String primaryAddress, String slot) {
        return "# written by pgplay: where this node replicates from when it is a standby\n"
                + "primary_conninfo = 'host=" + primaryAddress + " port=" + s.port() + " user=" + s.replicationUser()
                + " application_name=" + name() + "'\n"
                + "primary_slot_name = '" + slot + "'\n";
    }

    /**
     * .pgpass for postgres on this node: the replication user's password for the cluster's nodes
     * only (their addresses, the cluster's port, databases replication and postgres), so no
     * other server, and no other database name, is ever sent it.
     */
    public FileContent pgpass() {
        return FileContent.of("/var/lib/postgresql/.pgpass", pgpassText(s, nodeAddresses()), "0600", "postgres:postgres").sensitive();
    }

    public List<String> nodeAddresses() {
        List<String> out = new java.util.ArrayList<>();
        out.add(ctx.inventory().host(s.primary()).address());
        s.standbys().forEach(h -> out.add(ctx.inventory().host(h).address()));
        return out;
    }

    public static String pgpassText(PgSettings s, List<String> addresses) {
        StringBuilder b = new StringBuilder();
        for (String address : addresses) {
            for (String db : List.of("replication", "postgres")) {
                b.append(pgpassField(address)).append(':').append(s.port()).append(':').append(db).append(':')
                        .append(pgpassField(s.replicationUser())).append(':').append(pgpassField(s.replicationPassword())).append('\n');
            }
        }
        return b.toString();
    }

    /**
     * A .pgpass line for the replication user at {@code address}, any database: logical
     * replication connects to each database by name (blue-green, to the other side only).
     */
    public static String pgpassAnyDatabase(PgSettings s, String address) {
        return pgpassField(address) + ':' + s.port() + ":*:" + pgpassField(s.replicationUser()) + ':' + pgpassField(s.replicationPassword());
    }

    /** A .pgpass field: ':' and '\\' escaped. */
    public static String pgpassField(String value) {
        return value.replace("\\", "\\\\").replace(":", "\\:");
    }

    public HostContext ctx() {
        return ctx;
    }

    public PgSettings settings() {
        return s;
    }
}
