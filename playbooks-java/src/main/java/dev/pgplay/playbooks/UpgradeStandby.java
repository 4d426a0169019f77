package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.TaskResult;
import java.time.Duration;
import java.util.List;

/** The new minor packages on a node, the restart on the new binaries, and the wait until it has caught up. A step of {@link RollingMinor}. */
final class UpgradeStandby {
    private UpgradeStandby() {
    }

    /** The primary's package is older than the target, or it still runs older binaries than installed. */
    static boolean primaryNeedsUpgrade(HostContext ctx, PgSettings s, RollingState st) {
        Pg p = new Pg(ctx.on(st.primary), s);
        String installed = p.installed("postgresql-" + s.version());
        return RollingPreflight.versionLess(p, installed, st.target) || !runs(p.serverVersion(), upstream(installed));
    }

    // ---------------------------------------------------------------- standby upgrade

    static Operation packages(PgSettings s, RollingState st) {
        return ctx -> {
            Operation.Plan plan = Apt.present("postgresql-" + s.version() + "=" + st.target,
                    "postgresql-client-" + s.version() + "=" + st.target).plan(ctx);
            return plan;
        };
    }

    static TaskResult restartOnNewBinaries(Pg pg, RollingState st) throws Exception {
        var c = pg.cluster();
        String upstream = upstream(st.target);
        if (c.online() && !pg.answers()) {
            c = pg.awaitAnswer(Duration.ofSeconds(60)); // a package's scripts may be restarting it right now
        }
        if (c.online() && runs(pg.serverVersion(), upstream)) {
            return TaskResult.ok("already runs " + upstream);
        }
        boolean online = c.online();
        return Imperative.of((online ? "restart" : "start") + " " + pg.name(), List.of("pg_ctlcluster restart")).run(pg.ctx(), () -> {
            if (online) {
                pg.restart();
            } else {
                pg.start();
            }
            return TaskResult.changed((online ? "restarted" : "started") + " on " + pg.serverVersion(), List.of("pg_ctlcluster restart"));
        });
    }

    static TaskResult caughtUp(HostContext ctx, PgSettings s, RollingState st, long maxLag) throws InterruptedException {
        return caughtUp(ctx, s, st, st.primary, maxLag);
    }

    /** Streams from {@code upstream} (the primary, or a cascading standby's upstream) and is within {@code maxLag} bytes of it. */
    static TaskResult caughtUp(HostContext ctx, PgSettings s, RollingState st, String upstream, long maxLag) throws InterruptedException {
        Pg o = new Pg(ctx, s);
        Pg p = new Pg(ctx.on(upstream), s);
        if (st.simulated || ctx.checkMode() && !o.online()) {
            return TaskResult.skipped("check mode: " + o.name() + " would be waited for here");
        }
        String address = p.ctx().host().address();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "";
        while (System.nanoTime() < deadline && !ctx.cancelled()) {
            if (o.online() && o.streamingFrom(address)) {
                long lag = RollingPreflight.lagBytes(p, o);
                last = "lag " + lag + " bytes";
                if (lag <= maxLag) {
                    return TaskResult.ok("streaming from " + p.name() + ", " + last);
                }
            } else {
                last = "receiver " + (o.online() ? o.receiver().map(Object::toString).orElse("not running") : "server down");
            }
            Thread.sleep(200);
        }
        return TaskResult.failed("not streaming and caught up from " + p.name() + " after 120 s (" + last + ")");
    }

    static TaskResult runsTarget(Pg pg, RollingState st) {
        if (pg.ctx().checkMode()) {
            return TaskResult.skipped("check mode");
        }
        String v = pg.serverVersion();
        String upstream = upstream(st.target);
        return runs(v, upstream) ? TaskResult.ok(v)
                : TaskResult.failed(pg.name() + " runs " + v + ", expected " + upstream);
    }

    /** Whether a server_version such as "15.20 (Debian 15.20-0+deb12u1)" is that upstream version. */
    static boolean runs(String serverVersion, String upstream) {
        return serverVersion.equals(upstream) || serverVersion.startsWith(upstream + " ");
    }

    /** 15.20-0+deb12u1 -> 15.20 */
    static String upstream(String debianVersion) {
        String v = debianVersion.contains(":") ? debianVersion.substring(debianVersion.indexOf(':') + 1) : debianVersion;
        return v.contains("-") ? v.substring(0, v.indexOf('-')) : v;
    }
}
