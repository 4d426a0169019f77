package dev.pgplay.postgres;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.Interactive;
import java.time.Duration;
import java.util.List;

/**
 * A node's switchover journal kept open for appending, by one perl process (perl-base is essential
 * on Debian) started before a critical window: a durable append then costs a network round trip
 * and an fsync, not a shell, sudo and sync(1), which took 25-100 ms on a loaded host. The process
 * ends when its input does (a lost controller), having appended only whole, acknowledged requests.
 */
public final class KeptJournal implements AutoCloseable {
    private static final String DONE = "__pgplay_appended__";
    /** Lines from stdin are gathered; an empty line appends them, fsyncs the file and answers DONE. */
    static final String SCRIPT = """
            use strict; use warnings; use IO::Handle;
            $| = 1;
            my ($f, @lines) = (shift);
            while (my $l = <STDIN>) {
              chomp $l;
              if ($l ne '') { push @lines, $l; next; }
              if (!@lines) { print "%1$s\\n"; next; }
              open(my $h, '>>', $f) or die "$f: $!\\n";
              print $h map { "$_\\n" } @lines or die "$f: $!\\n";
              $h->sync or die "$f: $!\\n";
              close $h or die "$f: $!\\n";
              @lines = ();
              print "%1$s\\n";
            }
            """.formatted(DONE);

    private final String node;
    private final Interactive perl;

    private KeptJournal(String node, Interactive perl) {
        this.node = node;
        this.perl = perl;
    }

    /** The journal of {@code pg}'s cluster ({@link SwitchoverJournal#path}), kept open as postgres. */
    public static KeptJournal open(Pg pg) {
        Interactive perl = pg.ctx().connection().interactive(Cmd.of("perl", "-e", SCRIPT, SwitchoverJournal.path(pg.settings())),
                ExecOptions.as("postgres").timeout(Duration.ofSeconds(15)));
        KeptJournal j = new KeptJournal(pg.name(), perl);
        try {
            j.append(); // nothing written: answers once perl runs, so the window does not pay its start
        } catch (RuntimeException e) {
            perl.close();
            throw e;
        }
        return j;
    }

    /** Appends the lines (none may be empty or hold a line break) and returns once they are on disk. */
    public void append(String... lines) {
        StringBuilder in = new StringBuilder();
        for (String l : lines) {
            if (l.isEmpty() || l.indexOf('\n') >= 0 || l.indexOf('\r') >= 0) {
                throw new IllegalArgumentException(node + ": a journal line must be one non-empty line, got '" + l + "'");
            }
            in.append(l).append('\n');
        }
        List<String> out = perl.request(in.append('\n').toString(), DONE, Duration.ofSeconds(15));
        if (!out.isEmpty()) {
            throw new IllegalStateException(node + ": the journal answered " + out);
        }
    }

    /** The node whose journal this is. */
    public String node() {
        return node;
    }

    @Override
    public void close() {
        perl.close();
    }
}
