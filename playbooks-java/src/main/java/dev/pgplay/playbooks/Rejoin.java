package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.ReplicationSlots;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The old primary back as a standby of the new one: directly, by pg_rewind, or by pg_basebackup, whichever its WAL allows. A step of {@link RollingMinor}. */
final class Rejoin {
    private Rejoin() {
    }

    // ---------------------------------------------------------------- rejoin

    /** Brings the old primary back as a standby of the new one by the cheapest safe method. */
    static TaskResult rejoin(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        Pg old = new Pg(ctx, s);
        Pg np = new Pg(ctx.on(st.primary), s);
        String primaryAddress = np.ctx().host().address();
        if (st.simulated) {
            st.rejoinMethod = "chosen after the switchover";
            return TaskResult.changed("would rejoin " + old.name() + " as a standby of " + np.name()
                    + ": directly when its shutdown checkpoint precedes the new timeline, else pg_rewind, else pg_basebackup", List.of("rejoin"));
        }
        if (!ctx.checkMode()) {
            // a postmaster still ending after a stop that returned at its shutdown checkpoint (a run cut just after it)
            old.awaitExit(st.stoppingLimit);
            old.recoverCutClone();
        }
        if (old.online()) {
            TaskResult running = whileRunning(ctx, st, old, np, primaryAddress);
            if (running != null) {
                return running;
            }
        }
        Choice c = Choice.of(old.controlData(), st.fenceCheckpoint, switchpoint(np));
        if (ctx.checkMode()) {
            st.rejoinMethod = c.direct() ? "direct" : c.hints() ? "pg_rewind" : "pg_basebackup";
            return TaskResult.changed("would rejoin " + old.name() + " " + (c.direct() ? "directly" : c.hints() ? "with pg_rewind" : "with pg_basebackup"),
                    List.of("rejoin"));
        }
        String method = ctx.var("rejoin-method", "auto");
        if (!List.of("auto", "direct", "pg_rewind", "pg_basebackup").contains(method)) {
            return TaskResult.failed("rejoin-method must be auto, direct, pg_rewind or pg_basebackup, got '" + method + "'");
        }
        if (method.equals("direct") && !c.direct()) {
            return TaskResult.failed("refusing a direct rejoin of " + old.name() + ": "
                    + (c.clean() ? "its WAL goes past the new timeline's switch point" : "it was not shut down cleanly")
                    + "; use -e rejoin-method=auto (pg_rewind or pg_basebackup)");
        }
        return attempt(ctx, s, st, old, np, c, method);
    }

    /**
     * How the old primary can rejoin, from its control data: directly when it stopped cleanly at
     * a WAL end before the new timeline's switch point; else pg_rewind when hints are logged
     * (wal_log_hints or checksums); else pg_basebackup.
     */
    record Choice(boolean direct, boolean clean, boolean hints, long oldEnd, long switchpoint) {
        static Choice of(Map<String, String> control, long fenceCheckpoint, long switchpoint) {
            String dbState = control.get("Database cluster state");
            boolean clean = "shut down".equals(dbState) || "shut down in recovery".equals(dbState);
            // fenced at its shutdown checkpoint, it never wrote after it; otherwise only a clean primary shutdown tells where its WAL ends
            long oldEnd = fenceCheckpoint >= 0 ? fenceCheckpoint
                    : "shut down".equals(dbState) ? Psql.lsn(control.get("Latest checkpoint location")) : -1;
            boolean direct = clean && oldEnd >= 0 && switchpoint > oldEnd;
            if (!direct && fenceCheckpoint < 0 && "shut down in recovery".equals(dbState)) {
                clean = true; // a standby stopped cleanly; where its WAL ends is unknown: pg_rewind decides
            }
            boolean hints = "on".equals(control.get("wal_log_hints setting")) || !"0".equals(control.getOrDefault("Data page checksum version", "0"));
            return new Choice(direct, clean, hints, oldEnd, switchpoint);
        }
    }

    /**
     * The old primary runs: read-write is a split brain (refused); a standby that streams already
     * is done; one that does not is stopped (it loses nothing) and null says go on.
     */
    private static TaskResult whileRunning(HostContext ctx, RollingState st, Pg old, Pg np, String primaryAddress) throws Exception {
        if (!old.inRecovery()) {
            return TaskResult.failed(old.name() + " is running read-write next to " + np.name() + " (split brain): stop it, check it for "
                    + "writes " + np.name() + " lacks, then run again");
        }
        // fenced and started by something else (a package's postinst, a reboot): a standby already
        if (streamsSoon(old, primaryAddress, Duration.ofSeconds(ctx.checkMode() ? 1 : 15))) {
            if (st.fenceCheckpoint >= 0) {
                rejoined(st, "direct", "");
                st.notes.add(old.name() + " was fenced at its shutdown checkpoint; something else (a package's scripts, a reboot) "
                        + "started it, as a standby");
            }
            st.oldPrimaryNeedsRejoin = false;
            return TaskResult.ok("already streams from " + np.name() + " (fenced at the switchover, it started as a standby)");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would stop " + old.name() + " (a standby not streaming) and rejoin it", List.of("rejoin"));
        }
        old.stopFast(); // a standby that does not stream: stopping it loses nothing
        return null;
    }

    /** Direct, then pg_rewind, then pg_basebackup, as the choice and {@code -e rejoin-method} allow; each failure said in the result. */
    private static TaskResult attempt(HostContext ctx, PgSettings s, RollingState st, Pg old, Pg np, Choice c, String method) throws Exception {
        String primaryAddress = np.ctx().host().address();
        String slot = PgSettings.slotFor(old.name());
        List<String> tried = new ArrayList<>();
        boolean forced = !method.equals("auto") && !method.equals("direct");
        boolean direct = c.direct() && !forced;
        boolean hints = c.hints() && (!forced || method.equals("pg_rewind"));
        if (forced) {
            tried.add("-e rejoin-method=" + method);
        }
        if (direct) {
            if (direct(old, primaryAddress, slot)) {
                return rejoined(st, "direct", "its WAL ends at " + Psql.lsnText(c.oldEnd()) + ", before the switch point " + Psql.lsnText(c.switchpoint()));
            }
            tried.add("direct rejoin did not stream");
        } else if (!forced) {
            tried.add(c.clean() ? "its WAL goes past the switch point" : "it was not shut down cleanly");
        }
        if (hints) {
            String failed = rewind(ctx, s, old, np, primaryAddress, slot);
            if (failed == null) {
                return rejoined(st, "pg_rewind", String.join("; ", tried));
            }
            tried.add(failed);
        }
        return basebackup(ctx, st, old, np, primaryAddress, slot, tried);
    }

    /** The old primary's own data as a standby: true when it streams; left stopped when not. */
    private static boolean direct(Pg old, String primaryAddress, String slot) throws InterruptedException {
        old.writeStandbyConfig(primaryAddress, slot);
        old.startNoWait(); // the wait for streaming below asks the server itself, not systemd's view of the unit
        if (streamsSoon(old, primaryAddress, Duration.ofSeconds(20))) {
            return true;
        }
        if (old.online()) {
            old.stopFast();
        }
        return false;
    }

    /** pg_rewind from the new primary, then streaming: null when it streams, else what went wrong (left stopped). */
    private static String rewind(HostContext ctx, PgSettings s, Pg old, Pg np, String primaryAddress, String slot) throws Exception {
        ctx.progress("pg_rewind from " + np.name());
        np.sql("CHECKPOINT"); // a just-promoted source must show its new timeline in pg_control (pg_rewind docs)
        var r = Detached.run(ctx, "rewind-" + s.version() + "-" + s.cluster(), Cmd.of(old.bin("pg_rewind"), "-D", old.dataDir(), "--source-server",
                "host=" + primaryAddress + " port=" + s.port() + " user=" + s.replicationUser() + " dbname=postgres", "--progress"),
                "postgres", Duration.ofMinutes(30));
        if (!r.ok()) {
            return "pg_rewind failed: " + r.stderr().strip().lines().reduce((a, b) -> b).orElse("");
        }
        old.writeStandbyConfig(primaryAddress, slot);
        old.start();
        if (streamsSoon(old, primaryAddress, Duration.ofSeconds(30))) {
            return null;
        }
        old.stopFast();
        return "pg_rewind: did not stream";
    }

    /** The last resort: a fresh clone of the new primary. */
    private static TaskResult basebackup(HostContext ctx, RollingState st, Pg old, Pg np, String primaryAddress, String slot, List<String> tried)
            throws Exception {
        ctx.progress("pg_basebackup from " + np.name());
        old.cloneFrom(primaryAddress, slot);
        if (!streamsSoon(old, primaryAddress, Duration.ofSeconds(60))) {
            return TaskResult.failed("cloned with pg_basebackup but " + old.name() + " does not stream from " + np.name());
        }
        return rejoined(st, "pg_basebackup", String.join("; ", tried));
    }

    static TaskResult rejoined(RollingState st, String method, String why) {
        st.rejoinMethod = st.rejoinMethod.isEmpty() ? method : st.rejoinMethod + ", then " + method;
        st.oldPrimaryNeedsRejoin = false;
        st.standbyDown = false;
        return TaskResult.changed("rejoined " + st.standby + " as a standby of " + st.primary + " by " + method
                + (why.isEmpty() ? "" : " (" + why + ")"), List.of(method));
    }

    /**
     * A rejoined old primary keeps the slots it served as primary; on a standby a slot still holds
     * back WAL removal, so pg_wal would grow without end. Ours (pgplay_*) are dropped (the step
     * that makes a node primary creates them again); others are only reported.
     */
    static TaskResult dropStaleSlots(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        if (st.simulated) {
            return TaskResult.skipped("check mode: after the switchover");
        }
        Pg pg = new Pg(ctx, s);
        if (!pg.online() || !pg.inRecovery()) {
            return TaskResult.skipped(pg.name() + " is not a running standby");
        }
        List<String> others = ReplicationSlots.othersInactive(ctx, s.port());
        if (!others.isEmpty()) {
            st.notes.add(pg.name() + " (standby) has inactive replication slots not made by pgplay: " + String.join(", ", others)
                    + "; they keep WAL on it until dropped");
        }
        return ReplicationSlots.staleDropped(s.port()).run(ctx);
    }

    /** Where the new primary's timeline began: the end of the WAL it took over. */
    static long switchpoint(Pg np) {
        // the current timeline (pg_control_checkpoint() lags until the first checkpoint after promotion)
        String file = np.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)") + ".history";
        String history = np.sql("SELECT pg_read_file('pg_wal/' || " + Psql.literal(file) + ")");
        long last = -1;
        for (String line : history.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].matches("\\d+")) {
                last = Psql.lsn(f[1]);
            }
        }
        return last;
    }

    static boolean streamsSoon(Pg pg, String address, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000_000L);
            if (pg.waitStreamingFrom(address, left)) {
                return true;
            }
            Thread.sleep(200); // server not accepting connections yet
        }
        return false;
    }
}
