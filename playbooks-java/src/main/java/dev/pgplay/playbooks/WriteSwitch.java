package dev.pgplay.playbooks;

import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.Action;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.playbooks.BlueGreenSettings.Side;
import dev.pgplay.playbooks.BlueGreenStatus.Phase;
import dev.pgplay.postgres.DdlGuard;
import dev.pgplay.postgres.KeptPsql;
import dev.pgplay.postgres.LargeObjects;
import dev.pgplay.postgres.LogicalReadiness;
import dev.pgplay.postgres.MaterializedViews;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Publication;
import dev.pgplay.postgres.SchemaCopy;
import dev.pgplay.postgres.Sequences;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.postgres.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Moves writes from one side of a blue-green upgrade to the other ({@code to}): the switch, and
 * the rollback as the same switch in reverse. Each step reads where the servers stand and does
 * only what is missing, so a run cut anywhere is finished by running it again, or undone by
 * running it toward the other side:
 * <ol>
 * <li>block writes on the side that has them (read-only for new transactions, client sessions ended);
 * <li>wait until {@code to} has applied everything that side wrote: every slot confirms its current WAL position;
 * <li>sequences set exactly (and large objects copied), as they are final now;
 * <li>{@code to} stops following; the other side follows {@code to} (a subscription made ahead,
 *     disabled, is enabled; its slot moved to where {@code to} stands) <em>before</em> {@code to}
 *     takes a write, so no commit can miss the way back; a snapshot exported on both sides;
 * <li>the VIP moves, then {@code to} is opened;
 * <li>both sides compared (catalog, rows, checksums) as of the exported snapshots, with writes open again.
 * </ol>
 * The window is round trips on psql sessions opened before it ({@link SwitchSessions}). A step
 * that fails before the opening puts writes back where they were (the same steps toward the
 * other side, which never lose a commit either).
 */
final class WriteSwitch {
    private final BlueGreen bg;
    private final Side to;
    private final Side from;
    private boolean done;
    private SwitchSessions sessions;
    private Map<Side, Map<String, String>> exported;
    /** Whether this run proved, with writes blocked, that to has everything from wrote (then sequences are set and both sides compared). */
    private boolean proved;
    /** How long each step inside the write window took, in order (for the report). */
    private final java.util.LinkedHashMap<String, Long> window = new java.util.LinkedHashMap<>();

    /** Runs a step of the window and keeps its duration. */
    private TaskResult timed(String name, HostContext ctx, Action step) throws Exception {
        long t0 = System.nanoTime();
        TaskResult r = step.run(ctx);
        window.merge(name, (System.nanoTime() - t0) / 1_000_000, Long::sum);
        return r;
    }

    WriteSwitch(BlueGreen bg, Side to) {
        this.bg = bg;
        this.to = to;
        this.from = to.other();
    }

    private String x() {
        return to.text() + " (" + bg.s.host(to) + ")";
    }

    private String y() {
        return from.text() + " (" + bg.s.host(from) + ")";
    }

    /** The switch as named tasks, for a play on blue's host (each reaches both hosts itself). */
    List<Task> tasks() {
        return List.of(
                Task.of("where things stand", this::where),
                Task.of("what " + to.text() + " would lack, refused before writes are blocked (large objects, unlogged tables); "
                        + "materialized views refreshed on " + to.text(), this::carried).when(c -> !done),
                Task.of("psql sessions on both sides (opened before writes are blocked)", guarded(this::open)).when(c -> !done),
                Task.of("block writes on " + y(), guarded(this::block)).when(c -> !done),
                Task.of(x() + " has applied everything " + from.text() + " wrote (LSN proof)",
                        guarded(c -> timed("proof", c, k -> caughtUp(k, bg.s.catchUp())))).when(c -> !done),
                Task.of("sequences (and large objects, when chosen at prepare) from " + from.text() + " to " + to.text(),
                        guarded(c -> timed("sequences", c, this::sequences))).when(c -> !done),
                Task.of(from.text() + " follows " + to.text() + " before " + to.text() + " takes a write", guarded(c -> timed("reverse", c, this::reverse))).when(c -> !done),
                Task.of("snapshots of both sides for the comparison", guarded(c -> timed("snapshots", c, this::snapshots))).when(c -> !done && bg.s.verify()),
                Task.of("VIP to " + x(), guarded(c -> timed("VIP", c, this::vip))).when(c -> !done),
                Task.of("open writes on " + x(), guarded(this::openWrites)).when(c -> !done),
                // after the opening, and on every run: a client unreachable here does not undo the switch, and a run after a lost
                // controller finishes the alias; the DNS hook is called by the run that switched
                Task.of("clients by name to " + x() + " (" + bg.s.names().map(n -> n.methods()).orElse("") + ")",
                        c -> bg.s.names().get().lead(c, false, bg.s.host(to), done ? null : bg.s.host(from))).when(c -> bg.s.names().isPresent()),
                Task.of(from.text() + "'s slots that " + to.text() + " no longer uses dropped", this::unusedSlots).when(c -> !done),
                Task.of("compare " + to.text() + " with " + from.text() + " as they were at the switch (read after the opening)", this::verify)
                        .when(c -> !done && bg.s.verify()),
                Task.of("sessions closed", this::close));
    }

    TaskResult where(HostContext ctx) {
        if (Boolean.FALSE.equals(bg.backBySwitch)) {
            done = true;
            return TaskResult.skipped("no switch to undo");
        }
        BlueGreenStatus st = bg.readStatus(ctx);
        if (st.phase == Phase.NONE || st.phase == Phase.PREPARING) {
            return TaskResult.failed("no prepared blue-green upgrade (" + st.summary() + "): run bluegreen-prepare first");
        }
        if (st.phase == Phase.CLEANED) {
            return TaskResult.failed("the blue-green upgrade was cleaned up (writes on " + st.writable.text()
                    + "); there is no replication to switch by any more: only a restore from a backup goes back");
        }
        if (!bg.readOnly(ctx, to) && bg.readOnly(ctx, from) && bg.subscribes(ctx, from) && !bg.subscribes(ctx, to)) {
            done = true;
            if (st.phase != Phase.READY || st.writable != to) {
                st.phase = Phase.READY;
                st.writable = to;
                st.target = null;
                bg.saveStatus(ctx);
            }
            return TaskResult.ok("writes are on " + x() + " already and " + from.text() + " follows it");
        }
        String disabled = Psql.value(bg.on(ctx, to), bg.port(), "SELECT count(*) FROM pg_subscription WHERE subname = "
                + Psql.literal(Subscription.NAME) + " AND NOT subenabled AND subslotname IS NOT NULL");
        if (!"0".equals(disabled) && st.phase != Phase.SWITCHING) {
            return TaskResult.failed(x() + " has " + disabled + " disabled subscription(s) to " + from.text() + ": it does not follow, so writes"
                    + " cannot move to it. Enable them (ALTER SUBSCRIPTION " + Subscription.NAME + " ENABLE in each database), let it catch up,"
                    + " and run again; nothing was changed");
        }
        return TaskResult.ok(st.summary() + (st.phase == Phase.SWITCHING ? ": the cut switch is taken up toward " + to.text() : ""));
    }

    /** Large objects to carry in this run: chosen (now or at prepare), or found by a run taking up a cut switch; null until read. */
    private Boolean carryLargeObjects;
    /** The comparison's items left out: the rows of unlogged tables, empty on the new side by choice. */
    private List<String> leftOut = List.of();

    private boolean carryLargeObjects() {
        return carryLargeObjects != null ? carryLargeObjects : bg.copyLargeObjects();
    }

    /**
     * Before anything is blocked: what {@code from} holds that the switch would not carry is
     * refused (large objects or unlogged tables that prepare did not choose to carry or leave),
     * so no difference is found only after the opening; the materialized views {@code from} has
     * populated are refreshed on {@code to}, which gets them neither by replication nor by the
     * schema copy (content as of now). A run taking up a cut switch (writes blocked already)
     * refuses nothing: it carries the large objects it finds and says so.
     */
    TaskResult carried(HostContext ctx) throws Exception {
        HostContext f = bg.on(ctx, from);
        LogicalReadiness r = LogicalReadiness.read(f, bg.port());
        boolean cut = bg.status.phase == Phase.SWITCHING;
        List<String> refused = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (r.largeObjects() > 0 && !bg.copyLargeObjects()) {
            if (cut) {
                notes.add(r.largeObjects() + " large object(s) found while taking up a cut switch: copied");
            } else {
                refused.add(r.largeObjects() + " large object(s) on " + from.text() + ", which logical replication does not carry and prepare did not "
                        + "choose to copy: run with -e copy-large-objects=true (recorded for every later switch)");
            }
        }
        carryLargeObjects = bg.copyLargeObjects() || (cut && r.largeObjects() > 0);
        if (!r.unloggedRowItems().isEmpty() && !bg.unloggedEmpty() && !cut) {
            refused.add("unlogged table(s) on " + from.text() + " (" + String.join(", ", r.unloggedRowItems().stream().limit(5).toList())
                    + "), which logical replication does not carry: run with -e unlogged-tables=empty to leave them empty on " + to.text());
        }
        leftOut = r.unloggedRowItems();
        if (!refused.isEmpty()) {
            return TaskResult.failed(String.join("; ", refused) + "; nothing was blocked: writes stay on " + y());
        }
        if (!leftOut.isEmpty()) {
            notes.add("unlogged tables not carried to " + to.text() + " (unlogged-tables=empty, chosen at prepare), their rows not compared: "
                    + String.join(", ", leftOut));
        }
        HostContext t = bg.on(ctx, to);
        List<String> dbs = bg.databases(ctx, from);
        Map<String, List<String>> views = MaterializedViews.populated(f, bg.port(), dbs);
        int n = views.values().stream().mapToInt(List::size).sum();
        if (n == 0) {
            bg.notes.addAll(notes);
            return TaskResult.ok("nothing " + to.text() + " would lack" + (notes.isEmpty() ? "" : ": " + String.join("; ", notes)));
        }
        List<String> cmds = List.of("REFRESH MATERIALIZED VIEW x " + n + " on " + to.text());
        return Imperative.of("refresh " + n + " materialized view(s) on " + to.text(), cmds).run(ctx, () -> {
            long t0 = System.nanoTime();
            MaterializedViews.refresh(t, bg.port(), views, Duration.ofHours(1));
            notes.add(n + " materialized view(s) refreshed on " + to.text() + " before writes were blocked ("
                    + (System.nanoTime() - t0) / 1_000_000 + " ms; content as of then)");
            bg.notes.addAll(notes);
            return TaskResult.changed(String.join("; ", notes), cmds);
        });
    }

    /** Runs a step; if it fails before {@code to} is open, writes go back to {@code from} (the switch in reverse). */
    private Action guarded(Action step) {
        return ctx -> {
            TaskResult r = step.attempt(ctx);
            if (!(r instanceof TaskResult.Failed f) || ctx.checkMode() || ctx.cancelled()) {
                return r;
            }
            close(ctx);
            if (!bg.readOnly(ctx, to)) {
                return r; // open already: nothing to put back
            }
            if (!bg.readOnly(ctx, from)) {
                return TaskResult.failed(f.message() + "; nothing was blocked: writes stayed on " + y(), f.data());
            }
            String back;
            try {
                TaskResult b = new WriteSwitch(bg, from).all(ctx);
                back = b instanceof TaskResult.Failed bf ? "putting writes back on " + from.text() + " failed too: " + bf.message()
                        + "; run bluegreen-switch or bluegreen-rollback again" : "writes are back on " + y() + ", which never stopped being complete";
            } catch (Exception e) {
                back = "putting writes back on " + from.text() + " failed too: " + e.getMessage() + "; run bluegreen-switch or bluegreen-rollback again";
            }
            return TaskResult.failed(f.message() + "; " + back, f.data());
        };
    }

    /** The whole switch without the comparison: the way back after a failed step. */
    TaskResult all(HostContext ctx) throws Exception {
        try {
            for (Action step : List.<Action>of(this::open, this::block, c -> caughtUp(c, bg.s.catchUp()), this::sequences, this::reverse,
                    this::vip, this::openWrites, this::unusedSlots)) {
                TaskResult r = step.run(ctx);
                if (r instanceof TaskResult.Failed) {
                    return r;
                }
            }
            return TaskResult.changed("writes on " + x(), List.of());
        } finally {
            close(ctx);
        }
    }

    TaskResult open(HostContext ctx) {
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: no sessions");
        }
        List<String> dbs = bg.databases(ctx, from);
        new BlueGreenPrep(bg).pgpass(bg.on(ctx, from), to); // the way back's password, before the window
        // roles are not replicated and no DDL guard sees them: made or changed since the prepare (or the last switch), they are carried now
        SchemaCopy.globals(bg.on(ctx, from), bg.port(), "/usr/lib/postgresql/" + bg.s.nextVersion() + "/bin", bg.on(ctx, to), bg.port());
        sessions = SwitchSessions.open(bg, ctx, dbs);
        Catalog y = Catalog.read(sessions.current(from));
        for (String db : sessions.databases) {
            if (y.subscription(db) == DISABLED) {
                return TaskResult.failed(disabledBySomeone(db) + "; nothing was changed");
            }
        }
        int fresh = freshSlots(y);
        for (String db : sessions.databases) {
            // what the way back needs on the side that opens, made before the window (that side is read-only still)
            KeptPsql x = x(db);
            if ("0".equals(x.value("SELECT count(*) FROM pg_event_trigger WHERE evtname = 'pgplay_ddl_guard' AND evtenabled <> 'D'"))) {
                x.value(DdlGuard.installSql());
            }
            if ("0".equals(x.value("SELECT count(*) FROM pg_publication WHERE pubname = " + Psql.literal(Publication.NAME) + " AND puballtables"))) {
                x.value("DROP PUBLICATION IF EXISTS " + Publication.NAME + "; CREATE PUBLICATION " + Publication.NAME + " FOR ALL TABLES;");
            }
        }
        int pending = pendingWayBack(y, bg.publisher(ctx, to));
        return TaskResult.ok(dbs.size() + " database(s) x 2 sides" + (fresh > 0 ? "; " + fresh + " slot(s) made on " + to.text()
                + " for the way back (positioned in the window)" : "") + (pending > 0 ? "; " + pending + " subscription(s) to " + to.text()
                + " made on " + from.text() + ", disabled (enabled in the window)" : ""));
    }

    private String disabledBySomeone(String db) {
        return from.text() + "'s subscription in database " + Psql.ident(db) + " is disabled by someone: enable it (ALTER SUBSCRIPTION "
                + Subscription.NAME + " ENABLE) or drop it, then run again";
    }

    /**
     * The way back's subscriptions, made on {@code from} before the window, disabled, on the
     * slots just made: creating one reaches {@code to} (a login and a query for its tables, 0.1 to
     * 0.3 s each on the lab), which the window then does not wait for; there each is only renamed
     * and enabled. One left by an earlier attempt is made again; a detached one is dropped.
     */
    private int pendingWayBack(Catalog y, String publisher) {
        Map<String, List<String>> parts = new LinkedHashMap<>();
        for (String db : sessions.databases) {
            int back = y.subscription(db);
            if (back == NONE || back == DETACHED) {
                parts.put(db, List.of((back == DETACHED ? Subscription.DETACH_SQL : "") + (y.pending.contains(db) ? Subscription.PENDING_DROP_SQL : "")
                        + Subscription.pendingSql(db, publisher)));
            }
        }
        sessions.inEach(from, parts, Duration.ofMinutes(5));
        return parts.size();
    }

    /**
     * The slots the way back will use, made on {@code to} before the window (making a logical slot
     * waits for the transactions running on the server): in each database that {@code from} does
     * not follow {@code to} in yet, any slot of that name is dropped (an earlier attempt's) and
     * made again; the window then only moves it to the position where {@code to} opens.
     */
    private int freshSlots(Catalog y) {
        int n = 0;
        for (String db : sessions.databases) {
            int back = y.subscription(db);
            if (back != NONE && back != DETACHED) {
                continue; // a slot someone's subscription holds, even a disabled one, is never dropped
            }
            String slot = Psql.literal(Subscription.slotFor(db));
            x(db).value("SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = " + slot + " AND NOT active;");
            x(db).value("SELECT pg_create_logical_replication_slot(" + slot + ", 'pgoutput');");
            n++;
        }
        return n;
    }

    private KeptPsql y(String db) {
        return sessions.on(from, db);
    }

    private KeptPsql x(String db) {
        return sessions.on(to, db);
    }

    /** The write block as configured (not as pgplay's own sessions have it). */
    private static boolean blocked(KeptPsql session) {
        return "on".equals(session.value("SELECT reset_val FROM pg_settings WHERE name = 'default_transaction_read_only'"));
    }

    TaskResult block(HostContext ctx) throws Exception {
        List<String> cmds = List.of("ALTER SYSTEM SET default_transaction_read_only = on", "pg_reload_conf()", "pg_terminate_backend(client backends)");
        return Imperative.of("block writes on " + y(), cmds).run(ctx, () -> {
            KeptPsql y = sessions.current(from);
            boolean writable = !blocked(y);
            if (!writable && bg.status.phase == Phase.SWITCHING && bg.status.target == to) {
                return TaskResult.ok("blocked earlier in this switch");
            }
            bg.status.phase = Phase.SWITCHING;
            bg.status.target = to;
            bg.saveStatus(ctx); // before the block: a cut run knows a switch was under way
            long t0 = System.currentTimeMillis();
            y.value("ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf();");
            long deadline = System.nanoTime() + 5_000_000_000L;
            // once this session has the reloaded value, the postmaster has it: every new session starts read-only
            while (!blocked(y)) {
                if (System.nanoTime() > deadline) {
                    return TaskResult.failed(y() + ": default_transaction_read_only is still off 5 s after the reload");
                }
                Thread.sleep(2);
            }
            // ended in the target list: only rows that passed the WHERE (the planner may reorder its conditions)
            String ended = y.value("SELECT coalesce(string_agg(pid::text, ',') FILTER (WHERE ended), '') FROM (SELECT pid, pg_terminate_backend(pid) AS ended"
                    + " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid NOT IN (" + sessions.pids(from) + ")) c");
            // a session ended in its commit still writes it: gone, it wrote all it will (the proof's position is taken after)
            while (!ended.isEmpty() && !"0".equals(y.value("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + ended + ")"))) {
                if (System.nanoTime() > deadline) {
                    return TaskResult.failed(y() + ": client sessions still running 5 s after they were ended: " + ended);
                }
                Thread.sleep(2);
            }
            if (writable) {
                bg.status.blockedAt = t0;
            }
            window.put("block", System.currentTimeMillis() - t0);
            return TaskResult.changed("writes blocked on " + y() + ", " + (ended.isEmpty() ? 0 : ended.split(",").length) + " client session(s) ended", cmds);
        });
    }

    /**
     * Waits until {@code to} has applied and flushed everything {@code from} wrote up to now: each
     * database's slot on {@code from} confirms a position at or past {@code from}'s current WAL
     * position. Skipped when {@code to} does not follow {@code from} (an earlier run proved it).
     * Used by the prepare too, with writes going on: then it says green was caught up a moment ago.
     */
    TaskResult caughtUp(HostContext ctx, Duration limit) throws Exception {
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode: nothing to wait for");
        }
        KeptPsql y = sessions != null ? sessions.current(from) : null;
        KeptPsql x = sessions != null ? sessions.current(to) : null;
        // only the databases where to still follows from: a switch detaches a subscription only after its proof,
        // and a run cut in the middle of the reverse step leaves some detached and some not
        String following = "SELECT " + Psql.hex("d.datname") + " FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE subname = "
                + Psql.literal(Subscription.NAME) + " AND subenabled";
        List<List<String>> enabled = x != null ? x.rows(following, Duration.ofSeconds(30)) : Psql.rows(bg.on(ctx, to), bg.port(), "postgres", following);
        if (enabled.isEmpty()) {
            return TaskResult.ok(to.text() + " does not follow " + from.text() + ": proven and detached by an earlier run");
        }
        List<String> slots = enabled.stream().map(r -> Subscription.slotFor(Psql.unhex(r.get(0)))).toList();
        HostContext yctx = bg.on(ctx, from);
        // a message in the WAL wakes every walsender, which then sends its subscriber the position to confirm
        String endText = y != null ? y.value("SELECT pg_logical_emit_message(false, 'pgplay', 'switch')")
                : Psql.value(yctx, bg.port(), "SELECT pg_logical_emit_message(false, 'pgplay', 'caught up?')");
        long end = Psql.lsn(endText);
        long t0 = System.nanoTime();
        long lastProgress = 0;
        String query = "SELECT slot_name, coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots"
                + " WHERE slot_type = 'logical' AND slot_name LIKE 'pgplay\\_bg\\_%'";
        while (true) {
            List<List<String>> rows = y != null ? y.rows(query, Duration.ofSeconds(10)) : Psql.rows(yctx, bg.port(), "postgres", query);
            Map<String, Long> confirmed = new java.util.HashMap<>();
            rows.forEach(r -> confirmed.put(r.get(0), r.get(1).isEmpty() ? -1 : Psql.lsn(r.get(1))));
            List<String> behind = new ArrayList<>();
            for (String slot : slots) {
                long at = confirmed.getOrDefault(slot, -1L);
                if (at < end) {
                    behind.add(slot + " at " + (confirmed.containsKey(slot) ? Psql.lsnText(at) : "(no slot)"));
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (!behind.isEmpty() && ms / 1000 > lastProgress) {
                lastProgress = ms / 1000;
                long lag = slots.stream().mapToLong(sl -> end - confirmed.getOrDefault(sl, end)).max().orElse(0);
                ctx.progress("waiting for " + x() + " to apply what " + from.text() + " wrote: " + behind.size() + " slot(s) behind, up to "
                        + Math.max(0, lag / 1024) + " kB (" + ms / 1000 + " s)");
            }
            if (behind.isEmpty()) {
                proved = sessions != null;
                return TaskResult.ok(slots.size() + " slot(s) confirm " + Psql.lsnText(end) + " (" + ms + " ms)");
            }
            if (ms > limit.toMillis()) {
                return TaskResult.failed(x() + " is behind " + from.text() + ": after " + limit.toSeconds() + " s, " + behind.size()
                        + " slot(s) short of " + Psql.lsnText(end) + ": " + String.join(", ", behind.subList(0, Math.min(2, behind.size())))
                        + (behind.size() > 2 ? " and " + (behind.size() - 2) + " more" : "") + " (see the subscriber's log; raise -e catch-up-timeout or switch when it has caught up)");
            }
            Thread.sleep(y != null ? 5 : 200);
        }
    }

    TaskResult sequences(HostContext ctx) throws Exception {
        if (ctx.checkMode()) {
            return TaskResult.changed("would set the sequences of " + to.text() + " from " + from.text(), List.of("setval() per sequence"));
        }
        if (!proved) {
            // to did not follow from: it has everything from has (an earlier run proved it and set them), maybe more
            return TaskResult.ok("set by an earlier run, which proved " + to.text() + " complete; nothing to compare in this run");
        }
        // one round trip per side (in parallel by database): everything read on from, then set, read back (and replaced) on to
        boolean lo = carryLargeObjects();
        Map<String, List<String>> reads = new LinkedHashMap<>();
        sessions.databases.forEach(db -> reads.put(db, List.of(Sequences.READ, lo ? LargeObjects.READ : "")));
        Map<String, List<List<List<String>>>> read = sessions.inEach(from, reads, Duration.ofMinutes(10));
        Map<String, List<String>> writes = new LinkedHashMap<>();
        int n = 0;
        int objects = 0;
        for (String db : sessions.databases) {
            List<Sequences.Position> positions = Sequences.parse(read.get(db).get(0));
            writes.put(db, List.of(positions.isEmpty() ? "" : Sequences.setSql(positions), Sequences.READ,
                    lo ? LargeObjects.replaceSql(read.get(db).get(1)) : ""));
            n += positions.size();
            objects += read.get(db).get(1).size();
        }
        Map<String, List<List<List<String>>>> written = sessions.inEach(to, writes, Duration.ofMinutes(10));
        for (String db : sessions.databases) {
            List<Sequences.Position> wanted = Sequences.parse(read.get(db).get(0));
            List<Sequences.Position> now = Sequences.parse(written.get(db).get(1));
            if (!wanted.isEmpty() && !now.equals(wanted)) {
                return TaskResult.failed("database " + Psql.ident(db) + ": the sequences of " + to.text() + " do not match "
                        + from.text() + "'s after setting them (" + now.size() + " against " + wanted.size() + ")");
            }
        }
        String text = n + " sequence(s) set exactly and read back" + (lo ? ", " + objects + " large object(s) copied" : "");
        bg.notes.add("compared before the opening (writes blocked): every slot's LSN proof, " + text);
        return TaskResult.changed(text, List.of("setval() x " + n));
    }

    /**
     * In the window, once nothing is left to change: a snapshot exported in every database of
     * both sides, which the comparison reads after writes reopen; with too many databases to keep
     * a session in each, the comparison itself (the window grows).
     */
    TaskResult snapshots(HostContext ctx) {
        if (ctx.checkMode() || !proved || !bg.s.verify()) {
            return TaskResult.skipped(ctx.checkMode() ? "check mode" : !proved ? "nothing proved in this run: nothing to compare" : "-e verify=false");
        }
        if (sessions.perDatabase()) {
            exported = sessions.export();
            return TaskResult.ok("exported in " + sessions.databases.size() + " database(s) x 2 sides");
        }
        return compare(Map.of(), Map.of(), bg.on(ctx, Side.BLUE), bg.on(ctx, Side.GREEN));
    }

    TaskResult reverse(HostContext ctx) throws Exception {
        List<String> cmds = List.of("ALTER SUBSCRIPTION DISABLE on " + to.text() + " and its walsenders on " + from.text() + " ended",
                "slot on " + to.text() + " moved to its current position", "the subscription made ahead on " + from.text() + " enabled (else CREATE SUBSCRIPTION ... copy_data = false, create_slot = false)");
        return Imperative.of(from.text() + " follows " + to.text(), cmds).run(ctx, () -> {
            String publisher = bg.publisher(ctx, to);
            // where each database stands, from the shared catalogs: one query per side, both at once
            CompletableFuture<Catalog> fromCatalog = CompletableFuture.supplyAsync(() -> Catalog.read(sessions.current(from)));
            Catalog x = Catalog.read(sessions.current(to));
            Catalog y = fromCatalog.join();
            for (String db : sessions.databases) {
                if (y.subscription(db) == DISABLED) {
                    return TaskResult.failed(disabledBySomeone(db) + "; nothing was changed in this step");
                }
            }
            Map<String, List<String>> toParts = new LinkedHashMap<>();
            Map<String, List<String>> fromParts = new LinkedHashMap<>();
            int detached = 0;
            int made = 0;
            for (String db : sessions.databases) {
                String slot = Psql.literal(Subscription.slotFor(db));
                List<String> onTo = new ArrayList<>();
                List<String> onFrom = new ArrayList<>();
                if (x.subscription(db) == ENABLED) {
                    // detached, not dropped (dropping waits for the apply worker to exit): no more rows can reach to; its walsender ended
                    onTo.add(Subscription.LET_GO_SQL);
                    onFrom.add("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE slot_name = " + slot + " AND active_pid IS NOT NULL;");
                    detached++;
                }
                int back = y.subscription(db);
                if (back != ENABLED) {
                    // the slot made before the window, moved to where to opens: nothing before it is sent, everything after is
                    onTo.add(x.slots.contains(Subscription.slotFor(db)) ? "SELECT pg_replication_slot_advance(" + slot + ", pg_current_wal_lsn());"
                            : "SELECT pg_create_logical_replication_slot(" + slot + ", 'pgoutput');");
                    // a detached one left by an earlier switch goes first; the one made ahead is enabled, or one is made now
                    onFrom.add((back == DETACHED ? Subscription.DETACH_SQL : "")
                            + (y.pending.contains(db) ? Subscription.PENDING_ENABLE_SQL : Subscription.createSql(db, publisher, false, false)));
                    made++;
                }
                toParts.put(db, onTo);
                fromParts.put(db, onFrom);
            }
            if (detached + made == 0) {
                return TaskResult.ok(from.text() + " follows " + to.text() + " already");
            }
            sessions.inEach(to, toParts, Duration.ofMinutes(1));
            sessions.inEach(from, fromParts, Duration.ofMinutes(1));
            return TaskResult.changed(to.text() + " stopped following in " + detached + " database(s); " + from.text() + " follows " + to.text()
                    + " in " + made + " (copy_data = false: nothing is written on " + to.text() + " yet)", cmds);
        });
    }

    /** pgplay's subscriptions by database and the logical slots of one side, read from the shared catalogs in any database. */
    private record Catalog(Map<String, Integer> subscriptions, java.util.Set<String> pending, java.util.Set<String> slots) {
        static Catalog read(KeptPsql session) {
            List<List<String>> rows = session.rows("SELECT CASE WHEN subname = " + Psql.literal(Subscription.NAME) + " THEN 'sub' ELSE 'pending' END, "
                    + Psql.hex("d.datname") + ", CASE WHEN subenabled THEN " + ENABLED
                    + " WHEN subslotname IS NULL THEN " + DETACHED + " ELSE " + DISABLED + " END FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid"
                    + " WHERE subname IN (" + Psql.literal(Subscription.NAME) + ", " + Psql.literal(Subscription.PENDING) + ")"
                    + " UNION ALL SELECT 'slot', " + Psql.hex("slot_name::text") + ", 0 FROM pg_replication_slots WHERE slot_type = 'logical';",
                    Duration.ofSeconds(30));
            Map<String, Integer> subs = new java.util.HashMap<>();
            java.util.Set<String> pending = new java.util.HashSet<>();
            java.util.Set<String> slots = new java.util.HashSet<>();
            for (List<String> r : rows) {
                switch (r.get(0)) {
                    case "sub" -> subs.put(Psql.unhex(r.get(1)), Integer.parseInt(r.get(2)));
                    case "pending" -> pending.add(Psql.unhex(r.get(1)));
                    default -> slots.add(Psql.unhex(r.get(1)));
                }
            }
            return new Catalog(subs, pending, slots);
        }

        int subscription(String db) {
            return subscriptions.getOrDefault(db, NONE);
        }
    }

    /**
     * After the window: {@code from}'s slots, which {@code to} no longer uses (its subscriptions were
     * detached in the window), dropped once their walsenders have gone (10 s at most; left to the
     * next switch or the cleanup otherwise, which drop them).
     */
    TaskResult unusedSlots(HostContext ctx) throws Exception {
        if (ctx.checkMode()) {
            return TaskResult.skipped("check mode");
        }
        HostContext y = bg.on(ctx, from);
        HostContext x = bg.on(ctx, to);
        String stale = "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical' AND slot_name LIKE 'pgplay\\_bg\\_%'";
        if (!"0".equals(Psql.value(x, bg.port(), "SELECT count(*) FROM pg_subscription WHERE subname = " + Psql.literal(Subscription.NAME)
                + " AND subslotname IS NOT NULL"))) {
            return TaskResult.ok(to.text() + " still holds a slot on " + from.text() + " somewhere: the slots stay");
        }
        bg.dropDetached(x);
        long deadline = System.nanoTime() + 10_000_000_000L;
        int dropped = 0;
        while (!"0".equals(Psql.value(y, bg.port(), stale)) && System.nanoTime() < deadline) {
            dropped += Integer.parseInt(Psql.value(y, bg.port(), "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots"
                    + " WHERE slot_type = 'logical' AND slot_name LIKE 'pgplay\\_bg\\_%' AND NOT active"));
            Thread.sleep(100);
        }
        String left = Psql.value(y, bg.port(), stale);
        return "0".equals(left) ? (dropped > 0 ? TaskResult.changed(dropped + " slot(s) dropped on " + y(), List.of("pg_drop_replication_slot"))
                : TaskResult.ok("none left on " + y()))
                : TaskResult.ok(left + " slot(s) on " + y() + " still in use after 10 s: the next switch or the cleanup drops them");
    }

    /** No subscription in the database. */
    static final int NONE = 0;
    /** Detached by a switch: disabled, and its slot let go (slot_name NONE). */
    static final int DETACHED = 1;
    /** Following. */
    static final int ENABLED = 2;
    /** Disabled by someone, its slot kept: not pgplay's doing, never touched. */
    static final int DISABLED = 3;

    TaskResult vip(HostContext ctx) throws Exception {
        if (bg.s.blue().vip().isEmpty()) {
            bg.notes.add("no VIP in the inventory: point the clients at " + x() + " yourself");
            return TaskResult.skipped("no VIP in the inventory");
        }
        // raised and announced on the side that opens next before it leaves the other: a client
        // connecting meanwhile reaches one of them (both refuse writes yet) and retries at once;
        // with the address nowhere for a moment its SYN would be dropped and retried a second later
        TaskResult on = VirtualIp.present(bg.s.blue().vip().get()).run(bg.on(ctx, to));
        if (on instanceof TaskResult.Failed) {
            return on;
        }
        TaskResult off = VirtualIp.absent(bg.s.blue().vip().get()).run(bg.on(ctx, from));
        if (off instanceof TaskResult.Failed) {
            return off;
        }
        return on instanceof TaskResult.Changed || off instanceof TaskResult.Changed
                ? TaskResult.changed("VIP on " + x() + " (gratuitous ARP)", List.of("ip addr add + arping on " + to.text(), "ip addr del on " + from.text()))
                : on;
    }

    TaskResult openWrites(HostContext ctx) throws Exception {
        List<String> cmds = List.of("ALTER SYSTEM RESET default_transaction_read_only", "pg_reload_conf()");
        return Imperative.of("open writes on " + x(), cmds).run(ctx, () -> {
            long openStart = System.nanoTime();
            KeptPsql x = sessions.current(to);
            if (!blocked(x)) {
                return TaskResult.ok("open already");
            }
            x.value("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();");
            bg.status.openedAt = System.currentTimeMillis();
            window.put("open", (System.nanoTime() - openStart) / 1_000_000);
            bg.status.phase = Phase.READY;
            bg.status.writable = to;
            bg.status.target = null;
            bg.status.switches++;
            bg.saveStatus(ctx);
            sessions.closeWork();
            long refused = bg.status.blockedAt > 0 ? bg.status.openedAt - bg.status.blockedAt : -1;
            List<String> parts = new ArrayList<>();
            window.forEach((k, v) -> parts.add(k + " " + v));
            String text = "writes on " + x() + (refused >= 0 ? "; writes were refused for " + refused + " ms (" + String.join(", ", parts) + ")" : "");
            return refused >= 0 ? new TaskResult.Changed(text, cmds, java.util.Optional.empty(),
                    Map.of(dev.pgplay.core.run.WritesRefused.KEY, new dev.pgplay.core.run.WritesRefused(bg.status.blockedAt, bg.status.openedAt)))
                    : TaskResult.changed(text, cmds);
        });
    }

    /** Both sides as of the snapshots exported while writes were blocked, read now that they are open again. */
    TaskResult verify(HostContext ctx) {
        if (ctx.checkMode() || exported == null) {
            return TaskResult.skipped(ctx.checkMode() ? "check mode: nothing to compare yet" : "compared in the window, or by an earlier run");
        }
        TaskResult r = compare(exported.get(Side.BLUE), exported.get(Side.GREEN), bg.on(ctx, Side.BLUE), bg.on(ctx, Side.GREEN));
        return r instanceof TaskResult.Failed f ? TaskResult.failed(f.message() + "; writes are on " + x()
                + ", and the way back loses no commit: bluegreen-rollback", f.data()) : r;
    }

    /** Blue against green (blue is always the "old" column: extension versions may only differ toward the new major's default). */
    private TaskResult compare(Map<String, String> blueSnapshots, Map<String, String> greenSnapshots, HostContext blue, HostContext green) {
        long t0 = System.nanoTime();
        CompletableFuture<Snapshot> b = CompletableFuture.supplyAsync(() -> read(blue, blueSnapshots));
        Snapshot g = read(green, greenSnapshots);
        List<Snapshot.Row> rows = Snapshot.compare(b.join(), g);
        List<String> table = Snapshot.table(rows);
        long bad = rows.stream().filter(r -> !r.ok()).count();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String when = blueSnapshots.isEmpty() ? "compared before the opening (writes blocked)"
                : "compared after the opening, as of the switch (snapshots exported while writes were blocked)";
        if (bad > 0) {
            bg.notes.add(when + ": " + bad + " difference(s) in " + rows.size() + " items of catalog and rows");
            return TaskResult.failed(bad + " difference(s) between blue and green (table below)", Map.of("report", table));
        }
        bg.notes.add(when + ": " + rows.size() + " items of catalog and rows identical" + (leftOut.isEmpty() ? ""
                : " (" + leftOut.size() + " unlogged table(s) left out by choice)"));
        return TaskResult.ok(rows.size() + " items identical, read in " + ms + " ms" + (blueSnapshots.isEmpty() ? " with writes blocked"
                : " as of the switch, read after the opening"), Map.of("report", table));
    }

    /** A side read for comparison, without pgplay's own schema (the DDL guard) and sequences (compared in the window). */
    private Snapshot read(HostContext ctx, Map<String, String> snapshots) {
        try {
            return Snapshot.read(ctx, bg.port(), Math.max(1, Runtime.getRuntime().availableProcessors()), snapshots)
                    .without("pgplay").withoutItems(": sequence ").withoutKeys(leftOut);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    TaskResult close(HostContext ctx) {
        if (sessions != null) {
            sessions.close();
            sessions = null;
        }
        return TaskResult.ok("closed");
    }
}
