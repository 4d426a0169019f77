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

/**
 * The psql sessions a switch keeps on both sides, opened before writes are blocked so the window
 * is round trips on open sessions: one per side for the work (writable and past the DDL guard:
 * pgplay's own), moved from database to database with {@code \connect}, and one more per
 * database and side that exports the snapshot the comparison reads after writes reopen. A host's
 * SSH server allows 10 channels per connection (OpenSSH's MaxSessions): beyond
 * {@link #MAX_EXPORTED} databases no snapshots are kept and the comparison runs in the window.
 */
final class SwitchSessions implements AutoCloseable {
    static final String PRELUDE = "SET default_transaction_read_only = off; SET pgplay.allow_ddl = on; SET application_name = 'pgplay';\n";
    static final int MAX_EXPORTED = 5;

    final List<String> databases;
    private final Map<Side, KeptPsql> work = new EnumMap<>(Side.class);
    private final Map<Side, Map<String, KeptPsql>> exporters = new EnumMap<>(Side.class);

    private SwitchSessions(List<String> databases) {
        this.databases = List.copyOf(databases);
    }

    /** Opens every session (in parallel: each is an SSH channel, sudo and a psql start). */
    static SwitchSessions open(BlueGreen bg, HostContext any, List<String> databases, boolean export) {
        SwitchSessions s = new SwitchSessions(databases);
        List<CompletableFuture<Void>> opening = new ArrayList<>();
        try {
            for (Side side : Side.values()) {
                HostContext ctx = bg.on(any, side);
                Map<String, KeptPsql> e = new LinkedHashMap<>();
                s.exporters.put(side, e);
                opening.add(CompletableFuture.runAsync(() -> {
                    KeptPsql k = KeptPsql.open(ctx, bg.port(), "postgres", PRELUDE);
                    synchronized (s.work) {
                        s.work.put(side, k);
                    }
                }));
                if (export && databases.size() <= MAX_EXPORTED) {
                    for (String db : databases) {
                        opening.add(CompletableFuture.runAsync(() -> {
                            KeptPsql k = KeptPsql.open(ctx, bg.port(), db, "");
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
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        return s;
    }

    /** Whether snapshots are exported (few enough databases), so the comparison can wait until writes are open. */
    boolean exporting() {
        return exporters.values().stream().anyMatch(m -> !m.isEmpty());
    }

    /** The work session of one side, in {@code database}. */
    KeptPsql on(Side side, String database) {
        KeptPsql k = work.get(side);
        if (!k.database().equals(database)) {
            k = k.connect(database, PRELUDE);
            work.put(side, k);
        }
        return k;
    }

    /** The work session of one side, in whichever database it is (for the shared catalogs). */
    KeptPsql current(Side side) {
        return work.get(side);
    }

    /** Runs parts in their databases on one side's work session, in one round trip ({@link KeptPsql#script}): what each printed. */
    List<List<List<String>>> script(Side side, List<KeptPsql.Part> parts, Duration limit) {
        KeptPsql.Script s = work.get(side).script(parts, PRELUDE, limit);
        work.put(side, s.session());
        return s.rows();
    }

    /** The server processes of pgplay's sessions on one side (spared when client sessions are ended). */
    String pids(Side side) {
        List<String> pids = new ArrayList<>();
        pids.add(work.get(side).pid());
        exporters.get(side).values().forEach(k -> pids.add(k.pid()));
        return String.join(",", pids);
    }

    /** Exports a snapshot in every database of both sides (each exporting transaction stays open): side -> database -> id. */
    Map<Side, Map<String, String>> export() {
        Map<Side, Map<String, CompletableFuture<String>>> pending = new EnumMap<>(Side.class);
        exporters.forEach((side, sessions) -> {
            Map<String, CompletableFuture<String>> ids = new LinkedHashMap<>();
            // in parallel: one round trip for all
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
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : e;
                }
            });
            out.put(side, done);
        });
        return out;
    }

    /** The work sessions closed (the exporters stay until the comparison is read). */
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
        exporters.values().forEach(m -> m.values().forEach(SwitchSessions::quietly));
        exporters.clear();
    }
}
