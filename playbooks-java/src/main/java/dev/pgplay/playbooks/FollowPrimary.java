package dev.pgplay.playbooks;

import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A standby that is not part of the switchover follows whichever node is primary now: its slot on
 * the primary, {@code conf.d/pgplay-standby.conf} pointing there, a reload (a restart before
 * PostgreSQL 13, where primary_conninfo needs one), and proof that it streams from the primary on
 * the primary's timeline (recovery_target_timeline is latest: it follows the promotion). A standby
 * that already streams from the primary is left alone, so a run after a lost controller does only
 * what is still missing. A step of {@link RollingMinor}.
 */
final class FollowPrimary {
    static final Duration PROOF = Duration.ofSeconds(60);

    private FollowPrimary() {
    }

    static TaskResult follow(HostContext ctx, PgSettings s, RollingState st) throws Exception {
        if (st.simulated) {
            return TaskResult.changed("would follow " + st.primary + " (conf.d/pgplay-standby.conf, reload), then stream from it",
                    List.of("primary_conninfo host=" + st.primary));
        }
        Pg o = new Pg(ctx, s);
        Pg p = new Pg(ctx.on(st.primary), s);
        String address = p.ctx().host().address();
        if (o.online() && o.streamingFrom(address)) {
            return TaskResult.ok("streams from " + p.name());
        }
        String slot = PgSettings.slotFor(o.name());
        String file = s.confDir() + "/conf.d/pgplay-standby.conf";
        String wanted = o.standbyConf(address, slot);
        boolean pointed = wanted.equals(o.root(Cmd.of("sh", "-c", "[ ! -e \"$1\" ] || cat \"$1\"", "sh", file)).stdout());
        List<String> steps = new ArrayList<>(List.of("slot " + slot + " on " + p.name()));
        if (!pointed) {
            steps.add(file + ": primary_conninfo host=" + address);
        }
        if (!pointed || !o.online()) {
            steps.add(!o.online() ? "start" : Integer.parseInt(s.version()) >= 13 ? "reload" : "restart");
        }
        if (ctx.checkMode()) {
            return TaskResult.changed("would follow " + p.name(), steps);
        }
        TaskResult slotMade = ClusterSetup.slotsFor(s.port(), List.of(o.name())).run(p.ctx());
        if (slotMade instanceof TaskResult.Failed f) {
            return TaskResult.failed("slot " + slot + " on " + p.name() + ": " + f.message());
        }
        boolean changed = slotMade instanceof TaskResult.Changed || !pointed || !o.online();
        if (!pointed) {
            o.writeStandbyConfig(address, slot); // standby.signal is there already: only the file changes
        }
        if (!o.online()) {
            o.start();
        } else if (!pointed && Integer.parseInt(s.version()) >= 13) {
            o.sql("SELECT pg_reload_conf()");
        } else if (!pointed) {
            o.restart();
        }
        String timeline = String.valueOf(Long.parseLong(p.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), 16));
        TaskResult proof = WaitFor.sql(s.port(), "SELECT status || ' ' || sender_host || ' ' || received_tli FROM pg_stat_wal_receiver",
                "streaming " + address + " " + timeline).timeout(PROOF).run(ctx);
        if (!(proof instanceof TaskResult.Ok)) {
            return TaskResult.failed(o.name() + " does not stream from " + p.name() + " on timeline " + timeline + " after " + PROOF.toSeconds()
                    + " s (" + o.receiver().map(Object::toString).orElse("no WAL receiver") + "; see " + o.logFile() + "); it is still a standby. "
                    + "Next: fix what its log says, or clone it again: playbook cluster-setup -e force-reclone=true --limit " + o.name());
        }
        String what = "streams from " + p.name() + " on timeline " + timeline;
        return changed ? TaskResult.changed(what, steps) : TaskResult.ok(what);
    }
}
