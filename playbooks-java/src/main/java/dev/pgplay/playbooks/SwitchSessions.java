package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import dev.pgplay.postgres.KeptPsql;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The psql sessions a switch keeps on both sides, opened before writes are blocked so the window
 * is round trips on open sessions, all pgplay's own (writable and past the DDL guard): per side
 * one work session in database postgres (block, proof, opening), and one per replicated database,
 * so each database's steps run in parallel with no new connection in the window; the latter also
 * export the snapshots the comparison reads after writes reopen. A host's SSH server allows 10
 * channels per connection (OpenSSH's MaxSessions): the per-database sessions go over connections
 * of their own ({@link HostContext#connection(int)}), {@link #PER_LANE} on each. Beyond
 * {@link #MAX_EACH} databases (a server's connections are counted too) there are no per-database
 * sessions, the work session moves from database to database with {@code \connect} (one script
 * per step and side), and the comparison runs in the window.
 */
final class SwitchSessions implements AutoCloseable {
    static final String PRELUDE = "SET default_transaction_read_only = off; SET pgplay.allow_ddl = on; SET application_name = 'pgplay';\n";
    static final int MAX_EACH = 32;
    /** Per-database sessions on one extra SSH connection: under OpenSSH's 10 channels, with room to spare. */
    static final int PER_LANE = 8;

    /** The connection a database's session goes over: lane 0 keeps the run's shell, the work session and the journals. */
    static int lane(int index) {
        return 1 + index / PER_LANE;
    }

    final List<String> databases;
    private final Map<Side, KeptPsql> work = new EnumMap<>(Side.class);
    private final Map<Side, Map<String, KeptPsql>> each = new EnumMap<>(Side.class);

    private SwitchSessions(List<String> databases) {
        this.databases = List.copyOf(databases);
    }

    /** Opens every session (in parallel: each is an SSH channel, sudo and a psql start). */
    static SwitchSessions open(BlueGreen bg, HostContext any, List<String> databases) {
        SwitchSessions s = new SwitchSessions(databases);
        List<CompletableFuture<Void>> opening = new ArrayList<>();
        try {
            for (Side side : Side.values()) {
                HostContext ctx = bg.on(any, side);
                Map<String, KeptPsql> e = new LinkedHashMap<>();
                s.each.put(side, e);
                opening.add(CompletableFuture.runAsync(() -> {
                    KeptPsql k = KeptPsql.open(ctx, bg.port(), "postgres", PRELUDE);
                    synchronized (s.work) {
                        s.work.put(side, k);
                    }
                }));
                if (databases.size() <= MAX_EACH) {
                    for (int i = 0; i < databases.size(); i++) {
                        String db = databases.get(i);
                        int lane = lane(i);
                        opening.add(CompletableFuture.runAsync(() -> {
                            KeptPsql k = KeptPsql.open(ctx, lane, bg.port(), db, PRELUDE);
                            synchronized (e) {
                                e.put(db, k);
                            }
                        }));
                    }
                }
            }
            CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new)).join();
        } catch (RuntimeException e) {
            s.close();
            throw unwrapped(e);
        }
        return s;
    }

    private static RuntimeException unwrapped(RuntimeException e) {
        return e instanceof CompletionException && e.getCause() instanceof RuntimeException r ? r : e;
    }

    /** Whether there is a session per database (few enough databases): steps run in parallel, snapshots are exported. */
    boolean perDatabase() {
        return each.values().stream().anyMatch(m -> !m.isEmpty());
    }

    /** A session of one side in {@code database}: its own, or the work session moved there. */
    KeptPsql on(Side side, String database) {
        KeptPsql own = each.get(side).get(database);
        if (own != null) {
            return own;
        }
        KeptPsql k = work.get(side);
        if (!k.database().equals(database)) {
            k = k.connect(database, PRELUDE);
            work.put(side, k);
        }
        return k;
    }

    /**
     * The work session of one side, in whichever database it is: for what is the cluster's
     * (settings, shared catalogs, slots, sessions); a per-database session may be holding a snapshot.
     */
    KeptPsql current(Side side) {
        return work.get(side);
    }

    /**
     * Runs each database's SQL, part by part, on one side: in parallel on the per-database
     * sessions, or as one script on the work session ({@link KeptPsql#script}). Databases with
     * no parts are not visited. What each part printed, by database.
     */
    Map<String, List<List<List<String>>>> inEach(Side side, Map<String, List<String>> sql, Duration limit) {
        Map<String, List<List<List<String>>>> out = new LinkedHashMap<>();
        if (perDatabase()) {
            Map<String, CompletableFuture<List<List<List<String>>>>> running = new LinkedHashMap<>();
            sql.forEach((db, parts) -> {
                if (!parts.isEmpty()) {
                    KeptPsql k = each.get(side).get(db);
                    running.put(db, CompletableFuture.supplyAsync(() -> k.script(parts.stream().map(p -> new KeptPsql.Part(db, p)).toList(), PRELUDE, limit).rows()));
                }
            });
            RuntimeException failed = null;
            for (var r : running.entrySet()) {
                try {
                    out.put(r.getKey(), r.getValue().join());
                } catch (RuntimeException e) {
                    failed = failed == null ? unwrapped(e) : failed; // every one waited for: none is left running
                }
            }
            if (failed != null) {
                throw failed;
            }
            return out;
        }
        List<KeptPsql.Part> parts = new ArrayList<>();
        sql.forEach((db, p) -> p.forEach(one -> parts.add(new KeptPsql.Part(db, one))));
        KeptPsql.Script s = work.get(side).script(parts, PRELUDE, limit);
        work.put(side, s.session());
        int i = 0;
        for (var e : sql.entrySet()) {
            if (!e.getValue().isEmpty()) {
                out.put(e.getKey(), s.rows().subList(i, i + e.getValue().size()));
                i += e.getValue().size();
            }
        }
        return out;
    }

    /** The server processes of pgplay's sessions on one side (spared when client sessions are ended). */
    String pids(Side side) {
        List<String> pids = new ArrayList<>();
        pids.add(work.get(side).pid());
        each.get(side).values().forEach(k -> pids.add(k.pid()));
        return String.join(",", pids);
    }

    /**
     * Exports a snapshot in every database of both sides, in parallel (each exporting transaction
     * stays open, so those sessions do nothing else): side -> database -> id.
     */
    Map<Side, Map<String, String>> export() {
        Map<Side, Map<String, CompletableFuture<String>>> pending = new EnumMap<>(Side.class);
        each.forEach((side, sessions) -> {
            Map<String, CompletableFuture<String>> ids = new LinkedHashMap<>();
            sessions.forEach((db, k) -> ids.put(db, CompletableFuture.supplyAsync(
                    () -> k.value("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot();"))));
            pending.put(side, ids);
        });
        Map<Side, Map<String, String>> out = new EnumMap<>(Side.class);
        pending.forEach((side, ids) -> {
            Map<String, String> done = new LinkedHashMap<>();
            ids.forEach((db, f) -> {
                try {
                    done.put(db, f.join());
                } catch (RuntimeException e) {
                    throw unwrapped(e);
                }
            });
            out.put(side, done);
        });
        return out;
    }

    /** The work sessions closed (the per-database ones stay until the comparison is read). */
    void closeWork() {
        work.values().forEach(SwitchSessions::quietly);
        work.clear();
    }

    private static void quietly(KeptPsql k) {
        try {
            k.close();
        } catch (RuntimeException ignored) {
            // closing: the session may be gone already
        }
    }

    @Override
    public void close() {
        closeWork();
        each.values().forEach(m -> m.values().forEach(SwitchSessions::quietly));
        each.clear();
    }
}
