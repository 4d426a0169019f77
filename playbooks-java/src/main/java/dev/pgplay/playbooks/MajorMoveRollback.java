package dev.pgplay.playbooks;

import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.postgres.WalWrites;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Back to the old server after major-move: writes blocked on the target, what it took since the
 * switch read from its WAL (any write refuses the way back unless -e accept-data-loss=true, as it
 * would be lost), the source opened again, the clients moved back. In that order, so there is never
 * more than one writable server, and a cut run is finished by running it again.
 */
public final class MajorMoveRollback implements Playbook {
    @Override
    public String name() {
        return "major-move-rollback";
    }

    @Override
    public String description() {
        return "back to the old server after major-move (the clients too); refuses when the new server took writes that would be lost";
    }

    @Override
    public List<PlaybookOption> options() {
        return PgOptions.major(PlaybookOption.bool("accept-data-loss", false, "go back even when the new server took writes (they are lost)"));
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        Move mv = new Move(MoveSettings.of(inventory, extra));
        boolean[] nothing = new boolean[1];
        String target = mv.m.target();
        return List.of(Play.of("major-move rollback: " + target + " -> " + mv.m.old().primary(), mv.m.old().primary()).failFast()
                .task(Task.of("where things stand (status on the source)", ctx -> {
                    mv.status = UpgradeStatus.read(ctx, mv.m.statusName());
                    State s = mv.status.state();
                    nothing[0] = s == State.NONE || s == State.ROLLED_BACK || s == State.PREPARING || s == State.FAILED_UPGRADE;
                    if (!nothing[0] && !target.equals(mv.status.get(Key.TARGET))) {
                        return TaskResult.failed("the move recorded went to " + mv.status.get(Key.TARGET) + ", not " + target + ": run with that inventory");
                    }
                    return TaskResult.ok(nothing[0] ? "nothing to roll back: the source takes writes (" + s + ")" : mv.status.summary());
                }))
                .task(Task.of("no writes on " + target + " since the switch would be lost (its WAL)", ctx -> writes(ctx, mv, false))
                        .when(ctx -> !nothing[0] && mv.status.done(Step.OPENED)))
                .task(Task.of("block writes on " + target + " and end its client sessions", ctx -> blockTarget(ctx, mv))
                        .when(ctx -> !nothing[0] && mv.status.done(Step.OPENED)))
                .task(Task.of("nothing written on " + target + " in between", ctx -> writes(ctx, mv, true))
                        .when(ctx -> !nothing[0] && mv.status.done(Step.OPENED)))
                .task(Task.of("the source takes writes again", ctx -> openSource(ctx, mv)).when(ctx -> !nothing[0]))
                .task(Task.of("clients back to the source (" + String.join(", ", mv.m.switchMethods()) + ")", ctx -> clientsBack(ctx, mv))
                        .when(ctx -> !nothing[0]))
                .task(Task.of("access for the copy removed", mv.access::close).when(ctx -> !nothing[0])));
    }

    /**
     * What the target took since it was opened; refused (the target opened again when it was
     * blocked by this run) unless data loss is accepted.
     */
    private static TaskResult writes(HostContext ctx, Move mv, boolean blocked) {
        String since = mv.status.get(Key.WAL_AT_OPEN);
        String write;
        try {
            write = WalWrites.first(mv.target(ctx), mv.next(ctx), since).orElse(null);
        } catch (IllegalStateException e) {
            write = "unknown: " + e.getMessage();
        }
        if (write == null) {
            return TaskResult.ok("no writes on " + mv.m.target() + " since the switch (its WAL since " + since + ")");
        }
        if (mv.m.acceptLoss()) {
            return TaskResult.ok("writes made on " + mv.m.target() + " since the switch will be LOST (accept-data-loss): " + write);
        }
        String reopened = "";
        if (blocked && !ctx.checkMode()) {
            mv.next(ctx).sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            reopened = "; " + mv.m.target() + " takes writes again";
        }
        return TaskResult.failed(mv.m.target() + " took writes since the switch (" + write + "); going back would lose them. "
                + "Keep " + mv.m.target() + ", or copy what was written yourself, or run with -e accept-data-loss=true" + reopened);
    }

    private static TaskResult blockTarget(HostContext ctx, Move mv) throws Exception {
        Pg n = mv.next(ctx);
        if ("on".equals(n.sql("SHOW default_transaction_read_only")) && mv.status.done(Step.SWITCHED) && mv.status.get(Key.SWITCHED_BACK_AT) != null) {
            return TaskResult.ok("blocked earlier");
        }
        List<String> cmds = List.of("ALTER SYSTEM SET default_transaction_read_only = on on " + mv.m.target(), "pg_terminate_backend(client backends)");
        return Imperative.of("block writes on " + mv.m.target(), cmds).run(ctx, () -> {
            String ended = CutOver.block(n);
            mv.status.put(Key.SWITCHED_BACK_AT, System.currentTimeMillis()).save(ctx);
            return TaskResult.changed("writes blocked on " + mv.m.target() + ", " + ended + " client session(s) ended", cmds);
        });
    }

    private static TaskResult openSource(HostContext ctx, Move mv) throws Exception {
        Pg o = mv.source(ctx);
        if ("off".equals(o.sql("SHOW default_transaction_read_only"))) {
            return TaskResult.ok("takes writes");
        }
        List<String> cmds = List.of("the copy's unit on " + mv.m.target() + " stopped", "ALTER SYSTEM RESET default_transaction_read_only");
        return Imperative.of("open " + ctx.host().name(), cmds).run(ctx, () -> {
            Detached.stop(mv.target(ctx), Major.UNIT); // a copy cut with its controller must not go on into the target
            o.sql("ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()");
            return TaskResult.changed(ctx.host().name() + " takes writes again", cmds);
        });
    }

    private static TaskResult clientsBack(HostContext ctx, Move mv) throws Exception {
        if (ctx.checkMode()) {
            return TaskResult.changed("would move the clients back to " + ctx.host().name(), List.of(String.join(", ", mv.m.switchMethods())));
        }
        List<String> done = new ArrayList<>(mv.clients(ctx, mv.m.target(), mv.m.old().primary()));
        boolean switched = mv.status.done(Step.SWITCHED);
        mv.status.state(State.ROLLED_BACK).put(Key.NEW_FRESH, false).put(Key.MESSAGE, null)
                .undo(List.of(Step.WRITES_BLOCKED, Step.SNAPSHOT, Step.GLOBALS, Step.COPIED, Step.VERIFIED, Step.OPENED, Step.SWITCHED, Step.ANALYZED))
                .put(Key.DATABASES_DONE, null).save(ctx);
        done.add(mv.m.target() + " stays read-only with what it had" + (switched ? " (a new major-move replaces its cluster)" : ""));
        return TaskResult.changed(String.join("; ", done), done);
    }
}
