package dev.pgplay.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.modules.Command;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ScriptedTransport;
import dev.pgplay.core.ssh.ScriptedTransport.Call;
import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner's semantics through the transport seam, with a scripted fake: forks, serial batches,
 * max_fail_percentage, any_errors_fatal, handlers, check mode, unreachable hosts, cancellation and
 * the run lock. Milliseconds each; {@code RunnerIT} proves the same on real hosts.
 */
class RunnerTest {
    @TempDir
    Path dir;

    Inventory inventory;
    ScriptedTransport fake;
    RecordingListener rec;

    @BeforeEach
    void setUp() {
        inventory = Inventory.parse("""
                hosts { h1 { address = 10.0.0.1 }, h2 { address = 10.0.0.2 }, h3 { address = 10.0.0.3 }
                        h4 { address = 10.0.0.4 }, h5 { address = 10.0.0.5 }, h6 { address = 10.0.0.6 } }
                groups { six { hosts = [h1, h2, h3, h4, h5, h6] }, three { hosts = [h1, h2, h3] } }
                """, "hosts.conf", dir);
        fake = new ScriptedTransport();
        rec = new RecordingListener();
    }

    private Runner.Builder runner() {
        return Runner.builder(inventory).transport(fake).listener(rec);
    }

    private RunResult run(Runner.Builder b, Play play) {
        return b.build().run("test", List.of(play));
    }

    private static Task echo(String word) {
        return Task.of(word, Command.run("echo", word));
    }

    private List<Call> callsOf(String word) {
        return fake.calls().stream().filter(c -> c.command().equals("echo " + word)).toList();
    }

    @Test
    void forksBoundsTheHostsWorkedOnAtOnce() {
        fake.slow("echo", Duration.ofMillis(40));
        Play play = Play.of("forks", "six").task(echo("a"));
        assertEquals(0, run(runner().forks(2), play).exitCode());
        assertEquals(2, fake.mostAtOnce(), "forks=2");
        ScriptedTransport wide = new ScriptedTransport().slow("echo", Duration.ofMillis(500)); // long enough to overlap on a loaded machine
        Runner.builder(inventory).transport(wide).forks(6).build().run("test", List.of(play));
        assertEquals(6, wide.mostAtOnce(), "forks=6: every host at once");
    }

    @Test
    void serialBatchesRunTheWholePlayBeforeTheNextBatch() {
        Play play = Play.of("serial", "six").serial("1", "50%").task(echo("one"), echo("two"));
        assertEquals(0, run(runner(), play).exitCode());
        List<String> order = fake.calls().stream().map(c -> c.host() + " " + c.command().substring(5)).toList();
        // batch h1; then h2,h3,h4 (50% of 6); then h5,h6: each batch's "two" before the next batch's "one"
        int h1two = order.indexOf("h1 two");
        for (String h : List.of("h2", "h3", "h4", "h5", "h6")) {
            assertTrue(order.indexOf(h + " one") > h1two, order.toString());
        }
        for (String h : List.of("h5", "h6")) {
            for (String earlier : List.of("h2", "h3", "h4")) {
                assertTrue(order.indexOf(h + " one") > order.indexOf(earlier + " two"), order.toString());
            }
        }
        // inside a batch, every host runs "one" before any runs "two" (linear strategy)
        int lastOne = List.of("h2", "h3", "h4").stream().mapToInt(h -> order.indexOf(h + " one")).max().orElseThrow();
        int firstTwo = List.of("h2", "h3", "h4").stream().mapToInt(h -> order.indexOf(h + " two")).min().orElseThrow();
        assertTrue(lastOne < firstTwo, order.toString());
    }

    @Test
    void maxFailPercentageStopsLaterBatchesAndAnyErrorsFatalStopsEveryHost() {
        fake.reply("h1", "echo one", 1, "");
        Play pct = Play.of("pct", "six").serial("2").maxFailPercentage(49).task(echo("one"), echo("two"));
        RunResult r = run(runner(), pct);
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertEquals(Set.of("h1", "h2"), fake.calls().stream().map(Call::host).collect(java.util.stream.Collectors.toSet()),
                "1 of 2 failed (50% > 49%): no later batch");
        assertTrue(fake.commands("h2").isEmpty() || !fake.commands("h2").contains("echo two"), "the play stopped for the batch too");

        ScriptedTransport second = new ScriptedTransport().reply("h1", "echo one", 1, "");
        Runner.builder(inventory).transport(second).build()
                .run("test", List.of(Play.of("fine", "six").serial("2").maxFailPercentage(50).task(echo("one"), echo("two"))));
        assertEquals(List.of("echo one", "echo two"), second.commands("h6"), "50% is not more than 50%: the play goes on");

        ScriptedTransport fatal = new ScriptedTransport().reply("h2", "echo one", 1, "");
        Runner.builder(inventory).transport(fatal).build()
                .run("test", List.of(Play.of("fatal", "three").failFast().task(echo("one"), echo("two"))));
        assertEquals(0, fatal.calls().stream().filter(c -> c.command().equals("echo two")).count(), "any_errors_fatal");

        ScriptedTransport ends = new ScriptedTransport().reply("h2", "echo one", 1, "");
        Runner.builder(inventory).transport(ends).build().run("test", List.of(
                Play.of("fatal", "h2").failFast().task(echo("one")),
                Play.of("next", "h1").task(echo("two"))));
        assertTrue(ends.commands("h1").isEmpty(), "any_errors_fatal ends the run: a later play on another host does not start");
    }

    @Test
    void aFailedHostLeavesThePlayOthersGoOnAndIgnoredFailuresCount() {
        fake.reply("h2", "echo one", 3, "");
        fake.reply("false", 1, "");
        Play play = Play.of("failure", "three").task(echo("one"), Task.of("ignored", Command.run("false")).ignoreErrors(), echo("two"));
        RunResult r = run(runner(), play);
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertEquals(List.of("echo one"), fake.commands("h2"));
        assertEquals(List.of("echo one", "false", "echo two"), fake.commands("h1"));
        assertEquals(1, r.stats().get("h1").ignored());
        assertEquals(1, r.stats().get("h2").failed());
        assertTrue(rec.messages.contains("h2 one failed: `echo one` exited 3: scripted failure of `echo one`"), rec.messages.toString());
    }

    @Test
    void anUnreachableHostIsNotTriedAgainAndTheExitCodeSaysSo() {
        fake.unreachable("h3");
        RunResult r = run(runner(), Play.of("unreachable", "three").task(echo("one"), echo("two")));
        assertEquals(RunResult.UNREACHABLE_HOSTS, r.exitCode());
        assertEquals(1, r.stats().get("h3").unreachable());
        assertEquals(0, rec.count("h3 two unreachable"));
        assertEquals(2, r.stats().get("h1").changed());
        fake.reply("h1", "echo one", 1, "");
        assertEquals(RunResult.UNREACHABLE_HOSTS | RunResult.FAILED_HOSTS,
                run(runner(), Play.of("both", "three").task(echo("one"))).exitCode(), "2 and 4 are ORed");
    }

    @Test
    void handlersRunOnceAtTheEndOfTheBatchOnlyWhereNotifiedByAChange() {
        fake.reply("h2", "echo a", 0, "");
        Task readOnly = Task.of("look", Command.run("echo", "look").readOnly()).notify("restart");
        Play play = Play.of("handlers", "three").serial("3")
                .task(echo("a").notify("restart").when(ctx -> !ctx.host().name().equals("h3")), echo("b").notify("restart"), readOnly)
                .handler(Task.of("restart", Command.run("echo", "restart")));
        assertEquals(0, run(runner(), play).exitCode());
        for (String h : List.of("h1", "h2", "h3")) {
            List<String> cmds = fake.commands(h);
            assertEquals(1, cmds.stream().filter("echo restart"::equals).count(), h + ": " + cmds);
            assertEquals("echo restart", cmds.get(cmds.size() - 1), h + ": the handler runs last");
        }
        Play none = Play.of("no change", "three").task(readOnly).handler(Task.of("restart", Command.run("echo", "restart")));
        ScriptedTransport quiet = new ScriptedTransport();
        Runner.builder(inventory).transport(quiet).build().run("test", List.of(none));
        assertFalse(quiet.calls().stream().anyMatch(c -> c.command().equals("echo restart")), "ok tasks notify nothing");
    }

    /** An operation in the pyinfra style: reads a fact, plans a write only when the content differs. */
    private static final Fact<String> MOTD = Fact.of("motd", Cmd.of("cat", "/etc/motd"), r -> r.stdout(), "");

    private static Operation motd(String want) {
        return ctx -> ctx.fact(MOTD).equals(want) ? Operation.Plan.nothing("motd is right")
                : Operation.Plan.of("motd rewritten", Step.asRoot(Cmd.of("sh", "-c", "printf %s \"$1\" > /etc/motd", "sh", want)));
    }

    @Test
    void checkModeReadsFactsAndRunsNoStepAndChangedComesFromThePlan() {
        fake.reply("cat /etc/motd", 0, "old");
        Play play = Play.of("motd", "h1").task(Task.of("motd", motd("new")), Task.of("same", motd("old")),
                Task.of("command", Command.run("touch", "/x")));
        RunResult check = run(runner().checkMode(true), play);
        assertEquals(1, check.stats().get("h1").changed());
        assertEquals(2, check.stats().get("h1").ok(), "ok counts the changed task too, as in Ansible");
        assertEquals(1, check.stats().get("h1").skipped(), "a command that is not read-only does not run in check mode");
        assertEquals(List.of("cat /etc/motd"), fake.commands("h1"), "only the fact was read (once: cached)");
        assertTrue(rec.messages.contains("h1 motd changed: would: motd rewritten"), rec.messages.toString());

        ScriptedTransport real = new ScriptedTransport().reply("cat /etc/motd", 0, "old");
        RunResult r = Runner.builder(inventory).transport(real).build().run("test", List.of(play));
        assertEquals(2, r.stats().get("h1").changed());
        assertEquals(Cmd.of("sh", "-c", "printf %s \"$1\" > /etc/motd", "sh", "new").toString(), real.commands("h1").get(1));
        assertEquals(java.util.Optional.of("root"), real.calls().get(1).becomeUser());
    }

    @Test
    void anImperativeStepDescribesItselfInCheckModeAndRunsOnlyForReal() {
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        Play play = Play.of("promote", "h1").task(Task.of("promote", ctx -> Imperative.of("promote h1", List.of("SELECT pg_promote()"))
                .run(ctx, () -> {
                    ran.incrementAndGet();
                    return TaskResult.changed("promoted", List.of("SELECT pg_promote()"));
                })));
        RunResult check = run(runner().checkMode(true), play);
        assertEquals(1, check.stats().get("h1").changed());
        assertEquals(0, ran.get(), "check mode runs nothing");
        assertTrue(rec.messages.contains("h1 promote changed: would promote h1"), rec.messages.toString());
        assertEquals(1, run(runner(), play).stats().get("h1").changed());
        assertEquals(1, ran.get());
    }

    @Test
    void aStepsInputGoesToStdinAndIsNeverShown() {
        Operation role = ctx -> Operation.Plan.of("create role", Step.as("postgres", Cmd.of("psql")).withInput("CREATE ROLE r PASSWORD 'secret'"));
        Play play = Play.of("role", "h1").task(Task.of("role", role));
        run(runner().checkMode(true), play);
        assertTrue(fake.calls().isEmpty(), "check mode runs no step");
        assertFalse(rec.events.toString().contains("secret") || rec.messages.toString().contains("secret"), rec.events.toString());
        RunResult r = run(runner(), play);
        assertEquals(1, r.stats().get("h1").changed());
        assertEquals("CREATE ROLE r PASSWORD 'secret'", fake.calls().get(0).stdin());
        assertEquals(java.util.Optional.of("postgres"), fake.calls().get(0).becomeUser());
        assertFalse(rec.events.toString().contains("secret") || rec.messages.toString().contains("secret"), rec.events.toString());
        assertEquals("psql < (input)  (as postgres)", Step.as("postgres", Cmd.of("psql")).withInput("x").shown());
    }

    @Test
    void cancelLetsTheTaskUnderWayFinishAndStartsNothingNew() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Task blocking = Task.of("blocking", ctx -> {
            inside.countDown();
            release.await(5, TimeUnit.SECONDS);
            return TaskResult.ok("done");
        });
        Play play = Play.of("cancel", "h1").task(blocking, echo("after"));
        Runner runner = runner().build();
        AtomicReference<RunResult> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(runner.run("test", List.of(play, Play.of("next", "h2").task(echo("next"))))));
        t.start();
        assertTrue(inside.await(5, TimeUnit.SECONDS));
        runner.cancel();
        release.countDown();
        t.join(5000);
        assertTrue(result.get().cancelled());
        assertEquals(RunResult.FAILED_HOSTS, result.get().exitCode());
        assertTrue(fake.calls().isEmpty(), "nothing after the cancel: " + fake.calls());
        assertEquals(1, rec.count("h1 blocking ok"), "the task under way finished");
        assertFalse(fake.closed(), "a transport given to the builder is not closed by the run");
    }

    @Test
    void aRunLockHeldByAnotherRunStopsTheRunBeforeAnyTaskAndIsReleasedAfter() {
        fake.reply("h2", "mkdir -m 0755 /var/lib/pgplay/run.lock", 1, "");
        fake.reply("h2", "cat /var/lib/pgplay/run.lock/info; echo; stat", 0, "owner=ops@other\nplaybook=rolling-minor\n\n100\n700\n");
        fake.reply("h2", "cat /var/lib/pgplay/run.lock/info", 0, "owner=ops@other\nplaybook=rolling-minor\ncontroller=elsewhere\n");
        RunLock lock = new RunLock("test", "me@here", "run-1", false);
        RunResult r = run(runner().runLock(lock), Play.of("work", "three").task(echo("work")));
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertTrue(callsOf("work").isEmpty(), "no task runs while a lock is refused");
        assertTrue(rec.messages.stream().anyMatch(m -> m.startsWith("h2 acquire run lock failed: run lock held for 10 min (owner=ops@other, playbook=rolling-minor); another run")),
                rec.messages.toString());
        for (String h : List.of("h1", "h3")) {
            assertTrue(fake.commands(h).stream().anyMatch(c -> c.contains("grep -qx run=run-1") && c.contains("rm -rf /var/lib/pgplay/run.lock")),
                    h + ": the locks taken are released: " + fake.commands(h));
        }
        assertFalse(fake.commands("h2").stream().anyMatch(c -> c.contains("grep -qx run=run-1")), "a lock not taken is not released");
    }
}
