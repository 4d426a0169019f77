package dev.pgplay.playbooks;

import dev.pgplay.postgres.PgFacts;
import dev.pgplay.core.modules.Facts;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Connects to every host, checks become works and reports OS and PostgreSQL clusters. Changes nothing. */
public final class Ping implements Playbook {
    @Override
    public String name() {
        return "ping";
    }

    @Override
    public String description() {
        return "connect to every host, check sudo, report OS and PostgreSQL clusters (changes nothing)";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extraVars) {
        return List.of(Play.of("ping", "all").task(
                Task.of("connect and become root", ctx -> {
                    String who = ctx.connection().sudo(dev.pgplay.core.ssh.Cmd.of("id", "-un")).check(ctx.host().name()).out();
                    return TaskResult.ok("pong (become " + who + ")");
                }),
                Task.of("facts", ctx -> {
                    Map<String, String> os = ctx.fact(Facts.OS);
                    String clusters = ctx.fact(PgFacts.CLUSTERS).stream()
                            .map(c -> c.version() + "/" + c.name() + ":" + c.port() + " " + c.status())
                            .collect(Collectors.joining(", "));
                    return TaskResult.ok(os.getOrDefault("PRETTY_NAME", "?") + "; PostgreSQL: "
                            + (clusters.isEmpty() ? "none" : clusters));
                })));
    }
}
