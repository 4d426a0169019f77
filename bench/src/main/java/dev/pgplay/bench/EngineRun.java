package dev.pgplay.bench;

import dev.pgplay.core.modules.Command;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One engine run in its own JVM, as a user would start it: {@code EngineRun INVENTORY TASKS FORKS}.
 * Each task runs {@code echo N} on every host. Exits with the run's exit code.
 */
public final class EngineRun {
    private EngineRun() {
    }

    static Play play(int tasks) {
        List<Task> list = new ArrayList<>();
        for (int i = 1; i <= tasks; i++) {
            list.add(Task.of("echo " + i, Command.run("echo", String.valueOf(i))));
        }
        return Play.of("trivial", "all").task(list);
    }

    static RunResult run(Inventory inventory, int tasks, int forks) {
        return Runner.builder(inventory).forks(forks).build().run("bench", List.of(play(tasks)));
    }

    public static void main(String[] args) {
        Inventory inventory = Inventory.load(Path.of(args[0]));
        RunResult r = run(inventory, Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        int changed = r.stats().values().stream().mapToInt(s -> s.changed()).sum();
        System.out.println("changed=" + changed);
        System.exit(r.exitCode());
    }
}
