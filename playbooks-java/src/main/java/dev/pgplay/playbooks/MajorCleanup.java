package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.inventory.Inventory;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Deletes the old cluster kept by a finished major upgrade, on the primary and its standbys: the end of the way back. */
public final class MajorCleanup implements Playbook {
    @Override
    public String name() {
        return "major-cleanup";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.of();
    }

    @Override
    public String description() {
        return "delete the old cluster kept by a finished major upgrade (ends the way back)";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        PgSettings base = PgSettings.of(inventory, extra, false);
        String all = String.join(",", java.util.stream.Stream.concat(java.util.stream.Stream.of(base.primary()), base.standbys().stream()).toList());
        return List.of(Play.of("major cleanup", all).task(Task.of("old cluster deleted", ctx -> {
            UpgradeStatus st = UpgradeStatus.read(ctx, base.cluster());
            UpgradeStatus primary = UpgradeStatus.read(ctx.on(base.primary()), base.cluster());
            if (st.state() == State.CLEANED) {
                return TaskResult.ok("deleted earlier");
            }
            boolean mine = ctx.host().name().equals(base.primary()) ? st.state() == State.UPGRADED : st.state() == State.STANDBY_REBUILT;
            if (!mine || primary.state() != State.UPGRADED && primary.state() != State.CLEANED) {
                return TaskResult.failed("refusing: the upgrade is not finished here (" + st.summary() + ")");
            }
            String old = st.get(Key.OLD_VERSION);
            Major mj = MajorRollback.of(base, st);
            List<String> cmds = List.of("pg_dropcluster --stop " + old + " " + base.cluster(), "rm -rf " + mj.m.workDir());
            return Imperative.of("delete " + old + "/" + base.cluster(), cmds).run(ctx, () -> {
                Pg.root(ctx, Cmd.of("sh", "-c", "! pg_lsclusters -h \"$1\" \"$2\" >/dev/null 2>&1 || pg_dropcluster --stop \"$1\" \"$2\"",
                        "sh", old, base.cluster()));
                Pg.root(ctx, Cmd.of("rm", "-rf", mj.m.workDir(), UpgradeStatus.DIR + "/major-" + base.cluster() + ".before"));
                st.state(State.CLEANED).save(ctx);
                return TaskResult.changed("deleted " + old + "/" + base.cluster(), cmds);
            });
        }).irreversible(Duration.ofMinutes(2))));
    }
}
