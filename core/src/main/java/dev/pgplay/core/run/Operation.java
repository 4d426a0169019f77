package dev.pgplay.core.run;

import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.core.ssh.RemoteCommandException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An idempotent action in the pyinfra style: {@link #plan} reads facts and returns only the steps
 * still needed. No steps means ok; in check mode the steps are reported and not run; otherwise
 * they run in order and the first failure stops the task. Facts named by {@link #changes()} are
 * forgotten after a change.
 */
public interface Operation extends Action {
    /** The steps still needed on this host (empty when the host is already as desired). */
    Plan plan(HostContext ctx) throws Exception;

    /** Facts this operation changes (forgotten after it ran). */
    default List<Fact<?>> changes() {
        return List.of();
    }

    /** Drops the cached facts this operation may have changed (those of {@link #changes()}). */
    default void forgetChanges(HostContext ctx) {
        changes().forEach(ctx::forget);
    }

    /** What an operation found: the steps still needed, a message, an optional diff. */
    record Plan(List<Step> steps, String message, Optional<TaskResult.Diff> diff) {
        public static Plan nothing(String message) {
            return new Plan(List.of(), message, Optional.empty());
        }

        public static Plan of(String message, Step... steps) {
            return new Plan(List.of(steps), message, Optional.empty());
        }

        public Plan withDiff(TaskResult.Diff d) {
            return new Plan(steps, message, Optional.of(d));
        }
    }

    @Override
    default TaskResult run(HostContext ctx) throws Exception {
        Plan plan = plan(ctx);
        if (plan.steps().isEmpty()) {
            return TaskResult.ok(plan.message());
        }
        List<String> commands = new ArrayList<>();
        for (Step s : plan.steps()) {
            commands.add(s.shown());
        }
        if (ctx.checkMode()) {
            return new TaskResult.Changed("would: " + plan.message(), commands, plan.diff(), Map.of());
        }
        Map<String, Object> data = new LinkedHashMap<>();
        for (Step s : plan.steps()) {
            ExecResult r;
            if (s.unit().isPresent()) {
                r = Detached.run(ctx, s.unit().get(), s.command(), s.becomeUser().orElse("root"), Duration.ofMinutes(30));
            } else {
                r = ctx.connection().exec(s.command(), ExecOptions.of(s.becomeUser(), s.input()).onLine(ctx::progress));
            }
            data.put("rc", r.exitStatus());
            data.put("stdout", r.stdout());
            data.put("stderr", r.stderr());
            if (!r.ok()) {
                forgetChanges(ctx);
                return TaskResult.failed("`" + r.command() + "` exited " + r.exitStatus()
                        + (r.stderr().isBlank() ? "" : ": " + RemoteCommandException.lastLines(r.stderr())), data);
            }
        }
        forgetChanges(ctx);
        return new TaskResult.Changed(plan.message(), commands, plan.diff(), data);
    }
}
