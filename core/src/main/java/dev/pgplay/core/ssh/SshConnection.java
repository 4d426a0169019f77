package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Become;
import dev.pgplay.inventory.Host;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH session to one host: commands in kept {@link Shell}s (a channel of their own when they
 * take stdin), SFTP for files, local port forwards for JDBC. Obtained from
 * {@link SshTransport#connect}; closed with the transport.
 */
final class SshConnection implements Connection {
    private static final Logger LOG = LoggerFactory.getLogger(SshConnection.class);

    private final Host host;
    private final ClientSession session;
    /**
     * Commands without input run in kept shells (one per become user, more when commands of one
     * user run at once); {@code -Dpgplay.ssh.shells=false} runs each on a channel of its own.
     */
    static final boolean SHELLS = !"false".equals(System.getProperty("pgplay.ssh.shells"));

    private final List<Tunnel> tunnels = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Shell>> shells = new ConcurrentHashMap<>();

    SshConnection(Host host, ClientSession session) {
        this.host = host;
        this.session = session;
    }

    @Override
    public Host host() {
        return host;
    }

    boolean isOpen() {
        return session.isOpen() && session.isAuthenticated();
    }

    @Override
    public ExecResult exec(Cmd cmd, ExecOptions options) {
        long start = System.nanoTime();
        ExecResult result = SHELLS && options.stdin() == null ? inShell(cmd, options, start) : onChannel(cmd, options, start);
        LOG.debug("{}: `{}`{} -> {} in {} ms", host.name(), cmd, options.becomeUser().map(u -> " as " + u).orElse(""),
                result.exitStatus(), result.duration().toMillis());
        return result;
    }

    /** A command without input runs in a kept shell of its user: no channel, login shell or sudo of its own. */
    private ExecResult inShell(Cmd cmd, ExecOptions options, long start) {
        Deque<Shell> idle = shells.computeIfAbsent(options.becomeUser().orElse(""), k -> new ConcurrentLinkedDeque<>());
        Shell shell = idle.pollFirst();
        while (shell != null && !shell.usable()) {
            shell.close();
            shell = idle.pollFirst();
        }
        if (shell == null) {
            shell = startShell(cmd, options);
        }
        Shell.Result r;
        try {
            r = shell.run(cmd.shellLine(), cmd.toString(), options.timeout(), options.onLine());
        } catch (CommandTimeoutException e) {
            shell.close();
            endGroup(shell.groupFile(), options);
            throw e;
        } catch (RuntimeException e) {
            shell.close();
            throw e;
        }
        if (shell.usable()) {
            idle.offerFirst(shell);
        } else {
            shell.close();
        }
        return new ExecResult(cmd.toString(), r.exitStatus(), r.stdout(), r.stderr(), Duration.ofNanos(System.nanoTime() - start));
    }

    private Shell startShell(Cmd cmd, ExecOptions options) {
        LineSink out = new LineSink();
        LineSink err = new LineSink();
        Started s = start(Shell.START, options, cmd, out, err);
        s.channel().addCloseFutureListener(f -> {
            out.close();
            err.close();
        });
        return Shell.started(host.name(), s.channel(), s.stdin(), out, err);
    }

    /** A command with input (SQL, a script) on a channel of its own, its input sent after the become password. */
    private ExecResult onChannel(Cmd cmd, ExecOptions options, long start) {
        // the command runs in a process group of its own whose id is kept in a file while it runs,
        // so a timeout can end all of it (a shell's children included), not just the SSH channel
        // its name shows on sudo's command line: made with noclobber (O_EXCL), so a file someone planted there first is
        // never written through, and endGroup trusts only a file of the run's own user
        String groupFile = "/tmp/.pgplay-" + UUID.randomUUID() + ".pgid";
        String line = "setsid -w sh -c " + Cmd.quote("(set -C; echo $$ > " + groupFile + ") 2>/dev/null; sh -c \"$0\"; rc=$?; rm -f " + groupFile
                + "; exit $rc") + " " + Cmd.quote(cmd.shellLine());
        BecomeLine become = become(line, options);
        byte[] stdin = concat(become.stdinFirst(), options.stdin());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ChannelExec channel = session.createExecChannel(become.line())) {
            channel.setOut(options.onLine() == null ? out : new LineTee(out, options.onLine()));
            channel.setErr(err);
            channel.setIn(new ByteArrayInputStream(stdin));
            open(channel, options, cmd);
            Set<ClientChannelEvent> events = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), options.timeout());
            if (events.contains(ClientChannelEvent.TIMEOUT)) {
                channel.close(true);
                endGroup(groupFile, options);
                throw new CommandTimeoutException(host.name(), cmd.toString(), options.timeout());
            }
            Integer status = channel.getExitStatus();
            if (status == null && channel.getExitSignal() == null) {
                // closed without an exit status: the session dropped (or sshd went away); whether the
                // command finished is unknown, so this is the host's failure, not the command's
                throw new UnreachableException(host.name() + ": connection lost while running `" + cmd + "` (no exit status)", null);
            }
            if (status == null) {
                err.writeBytes(("killed by signal " + channel.getExitSignal() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return new ExecResult(cmd.toString(), status == null ? -1 : status,
                    out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), Duration.ofNanos(System.nanoTime() - start));
        } catch (IOException e) {
            if (!session.isOpen()) {
                throw new UnreachableException(host.name() + ": connection lost while running `" + cmd + "`: " + e.getMessage(), e);
            }
            throw new IllegalStateException(host.name() + ": cannot run `" + cmd + "`: " + e.getMessage(), e);
        }
    }

    @Override
    public Interactive interactive(Cmd cmd, ExecOptions options) {
        LineSink sink = new LineSink();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Started s = start(cmd.shellLine(), options, cmd, sink, err);
        s.channel().addCloseFutureListener(f -> sink.close());
        LOG.debug("{}: started `{}`{}", host.name(), cmd, options.becomeUser().map(u -> " as " + u).orElse(""));
        return new Interactive(host.name(), cmd.toString(), s.channel(), s.stdin(), sink, err);
    }

    /** A channel running {@code line} through become, open, its input started with the become password. */
    private Started start(String line, ExecOptions options, Cmd cmd, OutputStream out, OutputStream err) {
        BecomeLine become = become(line, options);
        ChannelExec channel = null;
        try {
            channel = session.createExecChannel(become.line());
            channel.setOut(out);
            channel.setErr(err);
            open(channel, options, cmd);
            OutputStream stdin = channel.getInvertedIn();
            if (become.stdinFirst().length > 0) {
                stdin.write(become.stdinFirst());
                stdin.flush();
            }
            return new Started(channel, stdin);
        } catch (IOException e) {
            if (channel != null) {
                channel.close(true);
            }
            throw new UnreachableException(host.name() + ": cannot start `" + cmd + "`: " + e.getMessage(), e);
        }
    }

    private record Started(ChannelExec channel, OutputStream stdin) {
    }

    /**
     * The line as it runs through the host's become method (sudo), and what goes first on its
     * standard input: the become password, never on a command line. Whether sudo reads it depends
     * on the server (NOPASSWD, a cached timestamp), so a random marker line follows it, and a
     * small shell inside sudo reads up to that marker before it starts the command: the password
     * never reaches the command's input, whether sudo asked for it or not.
     */
    private BecomeLine become(String line, ExecOptions options) {
        if (options.becomeUser().isEmpty()) {
            return new BecomeLine(line, new byte[0]);
        }
        Become become = host.become();
        String user = options.becomeUser().get();
        if (become.password().isPresent()) {
            String marker = "pgplay-become-" + UUID.randomUUID();
            return new BecomeLine("sudo -S -p '' -H -u " + Cmd.quote(user) + " -- sh -c " + Cmd.quote(SKIP_TO_MARKER) + " sh "
                    + Cmd.quote(marker) + " " + Cmd.quote(line),
                    (become.password().get().reveal() + "\n" + marker + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new BecomeLine("sudo -n -H -u " + Cmd.quote(user) + " -- sh -c " + Cmd.quote(line), new byte[0]);
    }

    /**
     * Run by sh inside sudo: $1 the marker, $2 the command line. The shell's read takes one byte at
     * a time from a pipe, so nothing past the marker is consumed. At most two lines come first: the
     * password (when sudo did not read it) and the marker.
     */
    static final String SKIP_TO_MARKER = "IFS= read -r l || exit 125; if [ \"$l\" != \"$1\" ]; then IFS= read -r l || exit 125; "
            + "[ \"$l\" = \"$1\" ] || { echo 'pgplay: become input out of step' >&2; exit 125; }; fi; unset l; exec sh -c \"$2\"";

    /**
     * Opens a channel within the command's time limit (30 s at most). No answer at all means the
     * host, or the network to it, is gone: unreachable. A server that answers and refuses is not.
     */
    private void open(ChannelExec channel, ExecOptions options, Cmd cmd) throws IOException {
        Duration openLimit = options.timeout().compareTo(Duration.ofSeconds(30)) < 0 ? options.timeout() : Duration.ofSeconds(30);
        try {
            channel.open().verify(openLimit);
        } catch (org.apache.sshd.common.channel.exception.SshChannelOpenException e) {
            throw e;
        } catch (IOException e) {
            throw new UnreachableException(host.name() + ": no answer within " + openLimit.toSeconds() + " s when running `" + cmd + "`", e);
        }
    }

    /** Ends a timed-out command's process group: SIGTERM, then SIGKILL after 2 s (as the user it ran as). */
    /**
     * Shell that reads the process group id from the file {@code $1} into {@code g}, or exits 0:
     * only a regular file (not a link) of this user, holding a number above 1. A file another
     * user planted (its name was on a command line) never makes a signal go to their choice of
     * processes, {@code kill -TERM -1} least of all.
     */
    static String groupFromFile() {
        return "[ -f \"$1\" ] && [ ! -L \"$1\" ] && [ -O \"$1\" ] || exit 0; g=$(head -c 20 \"$1\"); "
                + "case \"$g\" in ''|*[!0-9]*) exit 0;; esac; [ \"$g\" -gt 1 ] || exit 0; ";
    }

    private void endGroup(String groupFile, ExecOptions options) {
        Cmd kill = Cmd.of("sh", "-c", groupFromFile() + "kill -TERM -\"$g\" 2>/dev/null || { rm -f \"$1\"; exit 0; }; "
                + "i=0; while kill -0 -\"$g\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; "
                + "kill -KILL -\"$g\" 2>/dev/null; rm -f \"$1\"", "sh", groupFile);
        try {
            ExecOptions o = new ExecOptions(options.becomeUser(), java.time.Duration.ofSeconds(5), null, null);
            ExecResult r = exec(kill, o);
            LOG.debug("{}: ended the timed-out command's process group: exit {}", host.name(), r.exitStatus());
        } catch (RuntimeException e) {
            LOG.warn("{}: could not end a timed-out command's processes: {}", host.name(), e.getMessage());
        }
    }

    /**
     * Uploaded by SFTP into a private temporary directory (mode 0700 before anything is written
     * into it, so the content is never readable by others, whatever the server's umask).
     */
    @Override
    public void upload(byte[] content, String path, String mode, String owner) {
        String dir = "/tmp/.pgplay-" + UUID.randomUUID();
        String tmp = dir + "/content";
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session)) {
            sftp.mkdir(dir);
            sftp.setStat(dir, new SftpClient.Attributes().perms(0700));
            if ((sftp.stat(dir).getPermissions() & 0077) != 0) {
                throw new IOException("the directory could not be made private");
            }
            try (OutputStream os = sftp.write(tmp, SftpClient.OpenMode.Write, SftpClient.OpenMode.Create, SftpClient.OpenMode.Exclusive)) {
                os.write(content);
            }
            sftp.setStat(tmp, new SftpClient.Attributes().perms(0600));
        } catch (IOException e) {
            exec(Cmd.of("rm", "-rf", dir));
            throw new IllegalStateException(host.name() + ": cannot upload to " + tmp + ": " + e.getMessage(), e);
        }
        String group = owner.contains(":") ? owner.substring(owner.indexOf(':') + 1) : owner;
        String user = owner.contains(":") ? owner.substring(0, owner.indexOf(':')) : owner;
        try {
            sudo(Cmd.of("perl", "-e", INSTALL, tmp, path, mode, user, group)).check(host.name());
        } finally {
            exec(Cmd.of("rm", "-rf", dir));
        }
    }

    /**
     * Installs file {@code $ARGV[0]} as {@code $ARGV[1]} with mode, user and group, as root, in a
     * directory another user may own (a .pgpass in postgres's home): written to a new file of a
     * random name made there with O_EXCL|O_NOFOLLOW (never through a link or a file someone
     * planted), owner and mode set on the open file, then renamed over the path (a link there is
     * replaced, not followed).
     */
    static final String INSTALL = "use strict; use Fcntl;\n"
            + "my ($src, $dst, $mode, $user, $group) = @ARGV;\n"
            + "my $uid = $user =~ /^[0-9]+$/ ? $user : getpwnam($user); defined $uid or die \"no user $user\\n\";\n"
            + "my $gid = $group =~ /^[0-9]+$/ ? $group : getgrnam($group); defined $gid or die \"no group $group\\n\";\n"
            + "open(my $r, '<', '/dev/urandom') or die \"/dev/urandom: $!\\n\"; read($r, my $b, 8) == 8 or die \"/dev/urandom\\n\"; close $r;\n"
            + "my $tmp = $dst . '.pgplay-' . unpack('H*', $b);\n"
            + "sysopen(my $out, $tmp, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600) or die \"$tmp: $!\\n\";\n"
            + "my $ok = eval { open(my $in, '<:raw', $src) or die \"$src: $!\\n\"; binmode $out; local $/; my $data = <$in>;\n"
            + "  print {$out} (defined $data ? $data : '') or die \"$tmp: $!\\n\";\n"
            + "  chown($uid, $gid, $out) or die \"chown $tmp: $!\\n\"; chmod(oct($mode), $out) or die \"chmod $tmp: $!\\n\";\n"
            + "  close($out) or die \"$tmp: $!\\n\"; rename($tmp, $dst) or die \"rename to $dst: $!\\n\"; 1 };\n"
            + "if (!$ok) { my $e = $@; unlink $tmp; die $e; }\n";

    @Override
    public Tunnel forward(String remoteHost, int remotePort) {
        try {
            SshdSocketAddress bound = session.startLocalPortForwarding(new SshdSocketAddress("127.0.0.1", 0),
                    new SshdSocketAddress(remoteHost, remotePort));
            Tunnel t = new Tunnel(bound);
            t.onClose(() -> stopForwarding(t, false));
            tunnels.add(t);
            return t;
        } catch (IOException e) {
            throw new IllegalStateException(host.name() + ": cannot forward a local port to " + remoteHost + ":" + remotePort, e);
        }
    }

    @Override
    public Tunnel back(int localPort) {
        try {
            SshdSocketAddress bound = session.startRemotePortForwarding(new SshdSocketAddress("127.0.0.1", 0), new SshdSocketAddress("127.0.0.1", localPort));
            Tunnel t = new Tunnel(bound);
            t.onClose(() -> stopForwarding(t, true));
            tunnels.add(t);
            return t;
        } catch (IOException e) {
            throw new IllegalStateException(host.name() + ": cannot forward a port back to the controller (does its sshd allow TCP forwarding?): "
                    + e.getMessage(), e);
        }
    }

    void stopForwarding(Tunnel t, boolean back) {
        tunnels.remove(t);
        try {
            if (back) {
                session.stopRemotePortForwarding(t.local());
            } else {
                session.stopLocalPortForwarding(t.local());
            }
        } catch (IOException e) {
            LOG.debug("{}: closing tunnel {}: {}", host.name(), t.local(), e.getMessage());
        }
    }

    void close() {
        tunnels.forEach(Tunnel::close);
        shells.values().forEach(q -> q.forEach(Shell::close));
        session.close(false);
    }

    /** A command line wrapped for become, and the bytes its standard input starts with. */
    private record BecomeLine(String line, byte[] stdinFirst) {
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (b == null) {
            return a;
        }
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Copies output and hands each complete line to a listener as it arrives. */
    private static final class LineTee extends OutputStream {
        private final OutputStream copy;
        private final Consumer<String> listener;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineTee(OutputStream copy, Consumer<String> listener) {
            this.copy = copy;
            this.listener = listener;
        }

        @Override
        public void write(int b) throws IOException {
            copy.write(b);
            if (b == '\n') {
                listener.accept(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }
    }
}
