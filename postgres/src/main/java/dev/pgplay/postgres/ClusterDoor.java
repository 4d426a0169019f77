package dev.pgplay.postgres;

import dev.pgplay.core.modules.ManagedBlock;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import java.util.ArrayList;
import java.util.List;

/**
 * A cluster pgplay made, kept to the run until it takes clients (a major-move target before its
 * switch): a pg_hba block at the top ({@value #BLOCK}) lets only postgres in on the local socket
 * (pgplay's own psql and pg_restore) and refuses every other connection, local or TCP,
 * replication too; the sessions already open (a monitoring client set up before the server took
 * traffic) are ended and named. {@link #open} takes the block out. Both are idempotent and report,
 * without changing anything, in check mode.
 */
public final class ClusterDoor {
    /** The name of the pg_hba block. */
    public static final String BLOCK = "door";
    static final List<String> RULES = List.of(
            "# this cluster belongs to a pgplay run until its switch: nobody but postgres on the local socket gets in",
            "local all postgres peer",
            "local all all reject",
            "local replication all reject",
            "host all all all reject",
            "host replication all all reject");
    /** The result's data key of the sessions ended (a {@code List<String>}). */
    public static final String ENDED = "sessions-ended";
    /** How long sessions that slipped in before the reload are ended again. */
    private static final long SETTLE_MS = 5_000;

    private ClusterDoor() {
    }

    /**
     * The block in {@code hbaFile} of the cluster on {@code port}, loaded, and every other session
     * ended (in rounds 250 ms apart until one finds none, 5 s at most: a connection forked before
     * the reload authenticates by the old rules). The result's data names them under {@link #ENDED}.
     */
    public static TaskResult close(HostContext ctx, int port, String hbaFile) {
        TaskResult rule = ManagedBlock.atTop(hbaFile, BLOCK, RULES).run(ctx);
        if (rule.isFailure()) {
            return rule;
        }
        boolean loaded = rule instanceof TaskResult.Changed;
        if (ctx.checkMode()) {
            List<String> would = new ArrayList<>(sessions(ctx, port, false));
            would.replaceAll(s -> "end session " + s);
            if (loaded) {
                would.add(0, hbaFile + ": block " + BLOCK + " at the top, reload");
            }
            return would.isEmpty() ? TaskResult.ok("closed: " + hbaFile + " refuses other clients, none connected")
                    : TaskResult.changed("would " + String.join("; ", would), would);
        }
        if (loaded) {
            Psql.value(ctx, port, "SELECT pg_reload_conf()");
        }
        // a backend forked before the reload authenticates by the old rules: a second round after a
        // pause ends one that was still authenticating; more while rounds find some, 5 s at most
        List<String> ended = new ArrayList<>();
        long deadline = System.currentTimeMillis() + SETTLE_MS;
        for (int round = 0; ; round++) {
            List<String> now = sessions(ctx, port, true);
            ended.addAll(now);
            if ((round > 0 && now.isEmpty()) || System.currentTimeMillis() > deadline) {
                break;
            }
            sleep(250);
        }
        List<String> done = new ArrayList<>();
        if (loaded) {
            done.add(hbaFile + ": block " + BLOCK + " (only postgres on the local socket), reloaded");
        }
        ended.forEach(s -> done.add("ended " + s));
        if (done.isEmpty()) {
            return TaskResult.ok("closed: " + hbaFile + " refuses other clients, none connected");
        }
        return new TaskResult.Changed((loaded ? "other clients refused" : "closed") + (ended.isEmpty() ? ", none connected"
                : ", " + ended.size() + " session(s) ended: " + String.join(", ", ended)), done, java.util.Optional.empty(), java.util.Map.of(ENDED, ended));
    }

    /** The block taken out of {@code hbaFile} and the rules reloaded: clients get in as the site's own rules say. */
    public static TaskResult open(HostContext ctx, int port, String hbaFile) {
        TaskResult rule = ManagedBlock.absent(hbaFile, BLOCK).run(ctx);
        if (rule instanceof TaskResult.Changed && !ctx.checkMode()) {
            Psql.value(ctx, port, "SELECT pg_reload_conf()");
            return TaskResult.changed("clients let in: " + hbaFile + " without block " + BLOCK + ", reloaded",
                    List.of(hbaFile + ": block " + BLOCK + " removed", "reload"));
        }
        return rule;
    }

    /** The other client and replication sessions as "user@address on database (application)"; ended when {@code end}. */
    static List<String> sessions(HostContext ctx, int port, boolean end) {
        List<String> out = new ArrayList<>();
        for (List<String> row : Psql.rows(ctx, port, "SELECT " + Psql.hex("coalesce(usename, '?')") + ", coalesce(host(client_addr), 'local'), "
                + Psql.hex("coalesce(datname, 'replication')") + ", " + Psql.hex("coalesce(application_name, '')")
                + (end ? ", pg_terminate_backend(pid)" : "") + " FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                + "AND backend_type IN ('client backend', 'walsender') ORDER BY backend_start")) {
            out.add(session(Psql.unhex(row.get(0)), row.get(1), Psql.unhex(row.get(2)), Psql.unhex(row.get(3))));
        }
        return out;
    }

    /** One session as shown (names read from the server: no control character reaches a terminal or the report). */
    static String session(String user, String address, String database, String application) {
        String s = user + "@" + address + " on " + database + (application.isEmpty() ? "" : " (" + application + ")");
        return s.replaceAll("\\p{Cntrl}", "?");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while ending sessions", e);
        }
    }
}
