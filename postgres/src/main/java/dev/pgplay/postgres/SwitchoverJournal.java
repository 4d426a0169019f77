package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How far a switchover got, kept on both nodes in {@code /var/lib/pgplay/switchover-V-CLUSTER.journal}
 * (appended {@code key=value} lines, the last value wins, fsynced), so a run that follows a lost
 * controller finishes or undoes it instead of guessing from what is running:
 * <ol>
 * <li>{@code started}: the intent ({@code from} the primary {@code to} the standby), written on both
 * nodes before writes are blocked;</li>
 * <li>{@code stopped}: the old primary shut down cleanly at {@code checkpoint} and is fenced
 * (standby.signal pointing at the new primary), written by the stop itself;</li>
 * <li>{@code promoting}: the proof passed; written on the old primary before the promotion is asked
 * for, so a journal without it proves nobody was promoted;</li>
 * <li>{@code done} or {@code aborted}: the switchover ended (rejoined) or was undone.</li>
 * </ol>
 */
public record SwitchoverJournal(State state, String from, String to, long checkpoint, long started) {
    public enum State { NONE, STARTED, STOPPED, PROMOTING, DONE, ABORTED }

    public static final SwitchoverJournal NONE = new SwitchoverJournal(State.NONE, "", "", -1, 0);

    public static String path(PgSettings s) {
        return UpgradeStatus.DIR + "/switchover-" + s.version() + "-" + s.cluster() + ".journal";
    }

    /** A switchover that began and neither ended nor was undone. */
    public boolean open() {
        return state == State.STARTED || state == State.STOPPED || state == State.PROMOTING;
    }

    public static SwitchoverJournal parse(String text) {
        State state = State.NONE;
        String from = "";
        String to = "";
        long checkpoint = -1;
        long started = 0;
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0 || line.startsWith("#")) {
                continue;
            }
            String key = line.substring(0, eq).trim();
            String value = line.substring(eq + 1).trim();
            try {
                switch (key) {
                    case "state" -> state = State.valueOf(value.toUpperCase());
                    case "from" -> from = value;
                    case "to" -> to = value;
                    case "checkpoint" -> checkpoint = value.isEmpty() ? -1 : dev.pgplay.postgres.Psql.lsn(value);
                    case "started" -> started = Long.parseLong(value);
                    default -> { }
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("switchover journal: bad line '" + line + "'", e);
            }
        }
        return new SwitchoverJournal(state, from, to, checkpoint, started);
    }

    /** The journal on one host; {@link #NONE} when there is none. Fails when the host cannot be read. */
    public static SwitchoverJournal read(HostContext ctx, PgSettings s) {
        ExecResult r = ctx.connection().exec(Cmd.of("sh", "-c", "[ ! -e \"$1\" ] || cat \"$1\"", "sh", path(s)), ExecOptions.as("root"))
                .check(ctx.host().name());
        return parse(r.stdout());
    }

    /** The journal, or {@link #NONE} when the host cannot be reached (the other node's copy decides). */
    public static SwitchoverJournal readIfReachable(HostContext ctx, PgSettings s) {
        try {
            return read(ctx, s);
        } catch (dev.pgplay.core.ssh.UnreachableException e) {
            return NONE;
        }
    }

    /**
     * What both nodes say, merged: the newer switchover wins (by {@code started}); of the same one,
     * the later state and any checkpoint either recorded. Unreadable hosts are left out.
     */
    public static SwitchoverJournal merge(List<SwitchoverJournal> journals) {
        SwitchoverJournal best = NONE;
        for (SwitchoverJournal j : journals) {
            if (j.started > best.started) {
                best = j;
            } else if (j.started == best.started && j.started > 0) {
                State state = j.state.ordinal() > best.state.ordinal() ? j.state : best.state;
                long cp = best.checkpoint >= 0 ? best.checkpoint : j.checkpoint;
                best = new SwitchoverJournal(state, best.from, best.to, cp, best.started);
            }
        }
        return best;
    }

    /** A fresh journal for a switchover beginning now: written (truncating the old one) on a host. */
    public static Cmd begin(PgSettings s, String from, String to, long started) {
        String file = path(s);
        return Cmd.of("sh", "-c", "install -d -m 0755 \"$1\" && install -m 0644 -o postgres -g postgres /dev/null \"$2.new\" "
                + "&& printf '%s\\n' '# pgplay switchover journal: read by the next rolling-minor run' \"$3\" \"$4\" \"$5\" 'state=started' > \"$2.new\" "
                + "&& sync \"$2.new\" && mv -f \"$2.new\" \"$2\" && sync \"$1\"",
                "sh", UpgradeStatus.DIR, file, "started=" + started, "from=" + from, "to=" + to);
    }

    /** Appends lines (as the postgres user, who owns the file) and flushes them to disk. */
    public static Cmd append(PgSettings s, String... lines) {
        List<String> args = new ArrayList<>(List.of("sh", "-c", "f=$1; shift; printf '%s\\n' \"$@\" >> \"$f\" && sync \"$f\"", "sh", path(s)));
        args.addAll(List.of(lines));
        return Cmd.of(args);
    }

    public Optional<String> describe() {
        return state == State.NONE ? Optional.empty()
                : Optional.of("switchover " + from + " -> " + to + " " + state.name().toLowerCase()
                        + (checkpoint >= 0 ? " (shutdown checkpoint " + Psql.lsnText(checkpoint) + ")" : ""));
    }
}
