package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.RunListener;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.ScriptedTransport;
import dev.pgplay.core.ssh.ScriptedTransport.Call;
import dev.pgplay.inventory.Host;
import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PostgreSQL operations through the transport seam: what they read, what they plan, what they send (the SQL on stdin). */
class PostgresOperationsTest {
    @TempDir
    Path dir;

    /** The result of one task on db1, run through a scripted transport. */
    private TaskResult run(ScriptedTransport fake, boolean check, Operation op) {
        Inventory inventory = Inventory.parse("hosts { db1 { address = 10.0.0.1 } }", "hosts.conf", dir);
        List<TaskResult> results = new ArrayList<>();
        Runner.builder(inventory).transport(fake).checkMode(check).listener(new RunListener() {
            @Override
            public void hostResult(Host host, Task task, TaskResult result) {
                results.add(result);
            }
        }).build().run("test", List.of(Play.of("op", "db1").task(Task.of("op", op))));
        assertEquals(1, results.size(), results.toString());
        return results.get(0);
    }

    private static List<Call> psql(ScriptedTransport fake) {
        return fake.calls().stream().filter(c -> c.command().startsWith("psql ")).toList();
    }

    @Test
    void missingSlotsAreMadeInOneStepAndExistingOnesLeftAlone() {
        ScriptedTransport fake = new ScriptedTransport().reply("psql", 0, "pgplay_db2" + Psql.SEP + "t\nother" + Psql.SEP + "f\n");
        TaskResult check = run(fake, true, ReplicationSlots.present(5432, List.of("pgplay_db2", "pgplay_db3")));
        assertTrue(check instanceof TaskResult.Changed c && c.message().equals("would: create pgplay_db3"), check.toString());
        assertEquals(1, psql(fake).size(), "check mode only reads");
        assertTrue(psql(fake).get(0).stdin().contains("FROM pg_replication_slots"));
        assertEquals(java.util.Optional.of("postgres"), psql(fake).get(0).becomeUser());

        ScriptedTransport real = new ScriptedTransport().reply("psql", 0, "pgplay_db2" + Psql.SEP + "t\n");
        run(real, false, ReplicationSlots.present(5432, List.of("pgplay_db2", "pgplay_db3")));
        assertEquals(2, psql(real).size());
        assertTrue(psql(real).get(1).stdin().endsWith("SELECT pg_create_physical_replication_slot('pgplay_db3');\n"), psql(real).get(1).stdin());
        assertTrue(psql(real).get(1).command().contains("-p 5432"), psql(real).get(1).command());

        ScriptedTransport none = new ScriptedTransport().reply("psql", 0, "pgplay_db2" + Psql.SEP + "t\npgplay_db3" + Psql.SEP + "f\n");
        assertTrue(run(none, false, ReplicationSlots.present(5432, List.of("pgplay_db2", "pgplay_db3"))) instanceof TaskResult.Ok);
    }

    @Test
    void onlyPgplaysInactiveSlotsAreDropped() {
        ScriptedTransport fake = new ScriptedTransport().reply("psql", 0,
                "pgplay_db1" + Psql.SEP + "f\npgplay_db3" + Psql.SEP + "t\ntheirs" + Psql.SEP + "f\n");
        TaskResult r = run(fake, false, ReplicationSlots.staleDropped(5432));
        assertTrue(r instanceof TaskResult.Changed c && c.message().equals("drop pgplay_db1"), r.toString());
        String sql = psql(fake).get(1).stdin();
        assertTrue(sql.contains("pg_drop_replication_slot('pgplay_db1')") && !sql.contains("theirs") && !sql.contains("pgplay_db3"), sql);
    }

    @Test
    void aNewReplicationRoleGetsAVerifierOnStdinThatNoResultShows() {
        ScriptedTransport fake = new ScriptedTransport().reply("psql", 0, "");
        TaskResult r = run(fake, false, ReplicationRole.present(5432, "replicator", "s3cret-pw"));
        assertTrue(r instanceof TaskResult.Changed c && c.message().equals("create role replicator"), r.toString());
        String sql = psql(fake).get(1).stdin();
        assertTrue(sql.contains("CREATE ROLE \"replicator\" WITH REPLICATION LOGIN PASSWORD 'SCRAM-SHA-256$4096:"), sql);
        assertFalse(sql.contains("s3cret-pw"), "only the verifier leaves the controller");
        assertFalse(r.toString().contains("SCRAM") || r.toString().contains("s3cret"), r.toString());
        assertFalse(fake.calls().stream().anyMatch(c -> c.command().contains("SCRAM")), "never on a command line");

        ScriptedTransport exists = new ScriptedTransport().reply("psql", 0, "true true\n");
        assertTrue(run(exists, false, ReplicationRole.present(5432, "replicator", "s3cret-pw")) instanceof TaskResult.Ok);
        assertEquals(1, psql(exists).size());
    }

    @Test
    void rewindGrantsOnlyWhatIsMissingAndAServerThatCannotBeReadFails() {
        ScriptedTransport fake = new ScriptedTransport().reply("psql", 0, "pg_catalog.pg_stat_file(text, boolean)\n");
        TaskResult r = run(fake, false, RewindGrants.to(5432, "replicator"));
        assertTrue(r instanceof TaskResult.Changed, r.toString());
        assertEquals("SET standard_conforming_strings = on;\nGRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO \"replicator\";\n",
                psql(fake).get(1).stdin());

        ScriptedTransport down = new ScriptedTransport().reply("psql", 2, "");
        TaskResult failed = run(down, false, RewindGrants.to(5432, "replicator"));
        assertTrue(failed instanceof TaskResult.Failed f && f.message().contains("cannot read function privileges on port 5432"), failed.toString());
    }

    @Test
    void theDdlGuardGoesIntoEachDatabaseThatLacksIt() {
        String hexApp = java.util.HexFormat.of().formatHex("app".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        String hexShop = java.util.HexFormat.of().formatHex("shop".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        ScriptedTransport fake = new ScriptedTransport().reply("app", 0, "1\n").reply("shop", 0, "0\n")
                .reply("psql", 0, hexApp + "\n" + hexShop + "\n");
        TaskResult check = run(fake, true, DdlGuard.on(5433));
        assertTrue(check instanceof TaskResult.Changed c && c.message().equals("would: guard DDL in \"shop\""), check.toString());
        assertTrue(psql(fake).stream().noneMatch(c -> c.stdin().contains("CREATE EVENT TRIGGER")), "check mode only reads");

        ScriptedTransport real = new ScriptedTransport().reply("app", 0, "1\n").reply("shop", 0, "0\n")
                .reply("psql", 0, hexApp + "\n" + hexShop + "\n");
        run(real, false, DdlGuard.on(5433));
        List<Call> installs = psql(real).stream().filter(c -> c.stdin().contains("CREATE EVENT TRIGGER pgplay_ddl_guard")).toList();
        assertEquals(1, installs.size(), psql(real).toString());
        assertTrue(installs.get(0).command().contains("shop") && installs.get(0).command().contains("-p 5433"), installs.get(0).command());
        assertTrue(installs.get(0).stdin().indexOf("DROP EVENT TRIGGER") < installs.get(0).stdin().indexOf("CREATE EVENT TRIGGER"),
                "a disabled guard of ours is replaced");

        ScriptedTransport off = new ScriptedTransport().reply("app", 0, "1\n").reply("shop", 0, "0\n")
                .reply("psql", 0, hexApp + "\n" + hexShop + "\n");
        TaskResult lifted = run(off, false, DdlGuard.off(5433));
        assertTrue(lifted instanceof TaskResult.Changed c && c.message().equals("lift the DDL guard in \"app\""), lifted.toString());
        assertFalse(psql(off).stream().anyMatch(c -> c.stdin().contains("CREATE EVENT TRIGGER")));
    }

    @Test
    void aSubscriptionPerDatabaseWithItsOwnSlotAndNoPasswordInTheCatalog() {
        ScriptedTransport fake = new ScriptedTransport().reply("psql", 0, "0\n");
        TaskResult r = run(fake, false, Subscription.present(5432, List.of("a'b"), "host=10.0.0.9 port=5433 user=replicator", false));
        assertTrue(r instanceof TaskResult.Changed c && c.message().equals("subscribe \"a'b\""), r.toString());
        String sql = psql(fake).get(1).stdin();
        assertTrue(sql.contains("SET pgplay.allow_ddl = on;\nCREATE SUBSCRIPTION pgplay_bluegreen CONNECTION 'host=10.0.0.9 port=5433 user=replicator dbname=''a\\''b'''"
                + " PUBLICATION pgplay_bluegreen WITH (copy_data = false, slot_name = '" + Subscription.slotFor("a'b") + "', synchronous_commit = on);"), sql);
        assertTrue(Subscription.slotFor("a'b").matches("pgplay_bg_[0-9a-f]{16}"));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Subscription.present(5432, List.of("x"), "host=h password=s3cret", true));
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    }
}
