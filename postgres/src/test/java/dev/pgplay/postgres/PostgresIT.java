package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgplay.core.run.HostStats;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.Secret;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The PostgreSQL module on a real host: the cluster operation through systemd, JDBC through a tunnel. */
class PostgresIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("h1");

    private RunResult run(boolean check, Play play) {
        Inventory inventory = Inventory.load(LAB.lab().writeInventory("hosts.conf", ""));
        return Runner.builder(inventory).checkMode(check).build().run("test", List.of(play));
    }

    /** Tasks changed on h1; fails the test when any failed. */
    private int changed(boolean check, Play play) {
        HostStats s = run(check, play).stats().get("h1");
        assertEquals(0, s.failed() + s.unreachable(), s.toString());
        return s.changed();
    }

    private static Play cluster(PgCluster op) {
        return Play.of("cluster", "h1").task(Task.of("cluster", op));
    }

    private static String status(LabHost h) {
        return h.docker("sh", "-c", "pg_lsclusters --no-header 15 main | awk '{print $4}'").trim();
    }

    @Test
    void clusterStoppedAndStartedOnlyWhenNeededAndNotInCheckMode() {
        LabHost h1 = LAB.host("h1");
        assertEquals("online", status(h1));
        assertEquals(1, changed(true, cluster(PgCluster.stopped("15", "main"))));
        assertEquals("online", status(h1), "check mode must not stop the cluster");
        assertEquals(1, changed(false, cluster(PgCluster.stopped("15", "main"))));
        assertEquals("down", status(h1));
        assertEquals("inactive", h1.docker("sh", "-c", "systemctl is-active postgresql@15-main || true").trim(),
                "stopped through its systemd unit, so systemd does not start it behind our back");
        assertEquals(0, changed(false, cluster(PgCluster.stopped("15", "main"))));
        assertEquals(1, changed(false, cluster(PgCluster.started("15", "main"))));
        assertEquals("online", status(h1));
    }

    @Test
    void sqlThroughAJdbcTunnelToLoopbackOnly() {
        LAB.host("h1").docker("su", "postgres", "-c", "psql -c \"ALTER ROLE postgres PASSWORD 'jdbc-test'\"");
        AtomicReference<List<List<String>>> rows = new AtomicReference<>();
        Play play = Play.of("jdbc", "h1").task(Task.of("query", ctx -> {
            rows.set(Jdbc.query(ctx, 5432, "postgres", "postgres", Secret.of("jdbc-test", "test"),
                    "SELECT inet_server_addr()::text, current_setting('listen_addresses')"));
            return TaskResult.ok("queried");
        }));
        assertEquals(0, changed(false, play));
        assertEquals(List.of(List.of("127.0.0.1/32", "localhost")), rows.get());
    }
}
