package dev.pgplay.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.modules.Apt;
import dev.pgplay.core.modules.Command;
import dev.pgplay.core.modules.ConfigSetting;
import dev.pgplay.core.modules.FileContent;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.Vip;
import dev.pgplay.lab.LabExtension;
import dev.pgplay.lab.LabHost;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The runner's semantics on real hosts: handlers, batches, failures, unreachable hosts, check mode, task options. */
class RunnerIT {
    @RegisterExtension
    static final LabExtension LAB = LabExtension.hosts("h1", "h2", "h3");

    Inventory inventory;
    RecordingListener rec;

    @BeforeEach
    void setUp() {
        inventory = Inventory.load(LAB.lab().writeInventory("hosts.conf",
                "hosts.ghost { address = \"" + LAB.lab().network().address(198) + "\", connect-timeout = 2s }\n"
                        + "groups { lab { hosts = [h1, h2, h3] }, all3 { hosts = [h1, h2, h3, ghost] } }"));
        rec = new RecordingListener();
        for (LabHost h : LAB.hosts()) {
            h.docker("rm", "-f", "/tmp/trace", "/tmp/handler", "/tmp/checkmode.conf");
        }
    }

    private RunResult run(Play play) {
        return Runner.builder(inventory).listener(rec).build().run("test", List.of(play));
    }

    private RunResult run(Runner.Builder b, Play play) {
        return b.listener(rec).build().run("test", List.of(play));
    }

    private static Task trace(String name) {
        return Task.of(name, Command.run(Cmd.raw("echo \"$(hostname) " + name + " $(date +%s%N)\" >> /tmp/trace")));
    }

    @Test
    void handlersRunOnceAtTheEndOnlyForHostsThatChanged() {
        Task handler = Task.of("restart thing", Command.run(Cmd.raw("echo restarted >> /tmp/handler")));
        Play play = Play.of("handlers", "lab")
                .task(trace("a").notify("restart thing"))
                .task(trace("b").notify("restart thing"))
                .task(Task.of("no change", Command.run("true").readOnly()).notify("restart thing"))
                .task(trace("c").when(ctx -> ctx.host().name().equals("h1")).notify("restart thing"))
                .handler(handler);
        RunResult r = run(play);
        assertEquals(0, r.exitCode());
        for (LabHost h : LAB.hosts()) {
            assertEquals("restarted\n", h.docker("cat", "/tmp/handler"), h.name() + ": handler must run exactly once");
        }
        assertEquals(1, rec.count("handler restart thing"));
        int last = rec.events.lastIndexOf("handler restart thing");
        assertTrue(last > rec.events.indexOf("task c"), "handlers run after the last task");
        assertEquals(1, rec.count("h2 c skipped"));
    }

    @Test
    void serialBatchesFinishThePlayBeforeTheNextBatchStarts() {
        Play play = Play.of("serial", "lab").serial("1", "2").task(trace("one"), trace("two"));
        assertEquals(0, run(play).exitCode());
        long h1Last = stamp("h1", "two");
        long h2First = stamp("h2", "one");
        long h3First = stamp("h3", "one");
        assertTrue(h1Last < h2First, "batch 2 must start after batch 1 ended");
        assertTrue(h1Last < h3First);
        // batch sizes 1 then 2: h2 and h3 in the same batch run task one before either runs task two
        assertTrue(Math.max(h2First, h3First) < Math.min(stamp("h2", "two"), stamp("h3", "two")));
        assertEquals(List.of(List.of(1), List.of(2, 3), List.of(4, 5)), Play.batches(List.of(1, 2, 3, 4, 5), List.of("1", "40%")));
    }

    @Test
    void forksLimitsParallelHosts() {
        Play play = Play.of("forks", "lab").task(Task.of("sleep", Command.run(Cmd.raw(
                "echo \"$(date +%s%N) start\" >> /tmp/trace; sleep 0.5; echo \"$(date +%s%N) end\" >> /tmp/trace"))));
        run(Runner.builder(inventory).forks(1), play);
        assertFalse(overlap(), "forks=1: hosts must not overlap");
        LAB.hosts().forEach(h -> h.docker("rm", "-f", "/tmp/trace"));
        run(Runner.builder(inventory).forks(3), play);
        assertTrue(overlap(), "forks=3: hosts must overlap");
    }

    @Test
    void anUnreachableHostLeavesThePlayAndTheOthersFinish() {
        Play play = Play.of("unreachable", "all3").task(trace("one"), trace("two"));
        RunResult r = run(play);
        assertEquals(RunResult.UNREACHABLE_HOSTS, r.exitCode());
        assertEquals(1, r.stats().get("ghost").unreachable());
        assertEquals(1, rec.count("ghost one unreachable"));
        assertEquals(0, rec.count("ghost two unreachable"), "an unreachable host is not tried again");
        for (String h : List.of("h1", "h2", "h3")) {
            assertEquals(2, r.stats().get(h).changed());
        }
    }

    @Test
    void aFailedHostStopsButOthersContinueAndFailuresCanBeIgnored() {
        Play play = Play.of("failure", "lab")
                .task(Task.of("fails on h2", Command.run(Cmd.raw("test \"$(hostname)\" != h2"))))
                .task(Task.of("ignored failure", Command.run("false")).ignoreErrors())
                .task(trace("after"));
        RunResult r = run(play);
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertEquals(1, r.stats().get("h2").failed());
        assertEquals(1, r.stats().get("h1").ignored());
        assertEquals(0, LAB.host("h2").dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0 ? 1 : 0);
        assertTrue(LAB.host("h1").docker("cat", "/tmp/trace").contains(" after "));
    }

    @Test
    void anyErrorsFatalAndMaxFailPercentageStopThePlay() {
        Play fatal = Play.of("fatal", "lab").failFast()
                .task(Task.of("fails on h2", Command.run(Cmd.raw("test \"$(hostname)\" != h2"))))
                .task(trace("after"));
        assertEquals(RunResult.FAILED_HOSTS, run(fatal).exitCode());
        for (LabHost h : LAB.hosts()) {
            assertFalse(h.dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0, h.name() + " must not run on");
        }
        Play pct = Play.of("pct", "lab").serial("1").maxFailPercentage(0)
                .task(Task.of("fails on h1", Command.run(Cmd.raw("test \"$(hostname)\" != h1"))))
                .task(trace("after"));
        run(pct);
        assertFalse(LAB.host("h2").dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0, "later batches must not run");
    }

    @Test
    void retriesUntilRegisterChangedWhenFailedWhenRunOnceDelegateAndTags() {
        AtomicInteger attempts = new AtomicInteger();
        Play play = Play.of("options", "lab")
                .task(Task.of("counter", ctx -> TaskResult.ok(String.valueOf(attempts.incrementAndGet())))
                        .when(ctx -> ctx.host().name().equals("h1"))
                        .retries(5, Duration.ofMillis(10), res -> Integer.parseInt(res.message()) >= 3))
                .task(Task.of("hostname", Command.run("hostname").readOnly()).register("name"))
                .task(Task.of("use registered", ctx -> TaskResult.ok("I am " + ctx.registered("name").orElseThrow().message())))
                .task(Task.of("changed when", Command.run("echo", "nothing to do")).changedWhen(res -> !res.message().contains("nothing")))
                .task(Task.of("failed when", Command.run("echo", "ERROR")).failedWhen(res -> res.message().contains("ERROR"))
                        .when(ctx -> ctx.host().name().equals("h3")))
                .task(trace("once").runOnce())
                .task(Task.of("delegated", Command.run(Cmd.raw("echo delegated >> /tmp/trace"))).delegateTo("h2")
                        .when(ctx -> ctx.host().name().equals("h1")))
                .task(trace("tagged-skip").tags("slow"));
        RunResult r = run(Runner.builder(inventory).skipTags(Set.of("slow")), play);
        assertEquals(3, attempts.get(), "retried until the condition held");
        assertTrue(rec.events.contains("h1 changed when ok"), rec.events.toString());
        assertEquals(1, r.stats().get("h3").failed());
        assertEquals(1, rec.count("task once"));
        assertEquals(1, rec.events.stream().filter(e -> e.endsWith(" once changed")).count(), "run_once runs on one host");
        String h2 = LAB.host("h2").docker("cat", "/tmp/trace");
        assertTrue(h2.contains("delegated"), h2);
        assertFalse(LAB.host("h1").docker("cat", "/tmp/trace").contains("delegated"));
        assertEquals(0, rec.count("task tagged-skip"));
    }

    @Test
    void checkModeReportsChangesAndLeavesHostsUntouched() {
        LabHost h1 = LAB.host("h1");
        String vipAddress = LAB.lab().freeVip();
        Vip vip = new Vip(vipAddress, 24, "eth0", "ip", "eth0:pgvip", "h1");
        String confBefore = h1.docker("cat", "/etc/postgresql/15/main/postgresql.conf");
        String pkgBefore = h1.docker("dpkg-query", "-W", "-f", "${Version}", "postgresql-15");
        Play play = Play.of("check", "h1").task(
                Task.of("file", FileContent.of("/tmp/checkmode.conf", "x = 1\n", "0644", "root")),
                Task.of("setting", ConfigSetting.of("/etc/postgresql/15/main/postgresql.conf", "work_mem", "'64MB'")),
                Task.of("upgrade", Apt.latest("postgresql-15")),
                Task.of("vip", VirtualIp.present(vip)),
                Task.of("command", Command.run("touch", "/tmp/trace")));
        RunResult r = run(Runner.builder(inventory).checkMode(true).diffMode(true), play);
        assertEquals(0, r.exitCode());
        assertEquals(4, r.stats().get("h1").changed(), rec.events.toString());
        assertEquals(1, r.stats().get("h1").skipped());
        assertEquals(confBefore, h1.docker("cat", "/etc/postgresql/15/main/postgresql.conf"));
        assertEquals(pkgBefore, h1.docker("dpkg-query", "-W", "-f", "${Version}", "postgresql-15"));
        assertFalse(h1.docker("ip", "-o", "addr").contains(vipAddress));
        assertFalse(h1.dockerResult("test", "-e", "/tmp/checkmode.conf").getExitCode() == 0);
        assertFalse(h1.dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0);

        // the same play for real, then again: everything reports ok (idempotent)
        Play real = Play.of("real", "h1").task(
                Task.of("file", FileContent.of("/tmp/checkmode.conf", "x = 1\n", "0644", "root")),
                Task.of("setting", ConfigSetting.of("/etc/postgresql/15/main/postgresql.conf", "work_mem", "'64MB'")),
                Task.of("vip up", VirtualIp.present(vip)),
                Task.of("vip down", VirtualIp.absent(vip)));
        assertEquals(4, run(real).stats().get("h1").changed());
        assertTrue(h1.docker("grep", "^work_mem", "/etc/postgresql/15/main/postgresql.conf").contains("'64MB'"));
        RunResult again = run(Play.of("again", "h1").task(real.tasks().subList(0, 2)));
        assertEquals(Map.of("h1", new HostStats(2, 0, 0, 0, 0, 0)), again.stats());
    }

    @Test
    void aRunLockHeldByAnotherControllerIsRefusedUntilBrokenAndReleasedAfterTheRun() {
        LabHost h2 = LAB.host("h2");
        h2.docker("sh", "-c", "mkdir -p /var/lib/pgplay/run.lock && printf 'owner=alice@ctl9\nplaybook=rolling-minor\nrun=r1\n' > /var/lib/pgplay/run.lock/info");
        Play play = Play.of("locked", "lab").task(trace("work"));
        RunResult r = run(Runner.builder(inventory).runLock(new RunLock("test", "bob@ctl1", "r2", false)), play);
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        assertTrue(rec.events.contains("h2 acquire run lock failed"), rec.events.toString());
        for (LabHost h : LAB.hosts()) {
            assertFalse(h.dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0, h.name() + ": nothing may run");
        }
        assertFalse(LAB.host("h1").dockerResult("test", "-e", "/var/lib/pgplay/run.lock").getExitCode() == 0,
                "the locks this run took are released");
        assertTrue(h2.docker("cat", "/var/lib/pgplay/run.lock/info").contains("alice"), "the other lock stays");

        RunResult broken = run(Runner.builder(inventory).runLock(new RunLock("test", "bob@ctl1", "r3", true)), play);
        assertEquals(0, broken.exitCode());
        for (LabHost h : LAB.hosts()) {
            assertTrue(h.docker("cat", "/tmp/trace").contains(" work "));
            assertFalse(h.dockerResult("test", "-e", "/var/lib/pgplay/run.lock").getExitCode() == 0, "released");
        }
    }

    @Test
    void breakLockRefusesALiveHolderAndLimitStillLocksThePartnerAndOtherFailuresSayWhat() {
        LabHost h1 = LAB.host("h1");
        LabHost h2 = LAB.host("h2");
        Play play = Play.of("locked", "lab").task(trace("guarded"));
        // a holder that still runs on this controller (this very JVM) is never broken
        h2.docker("sh", "-c", "mkdir -p /var/lib/pgplay/run.lock && printf '%s\\n' owner=carol@here playbook=x run=r7 controller="
                + RunLock.controller() + " process=" + RunLock.process(ProcessHandle.current()) + " > /var/lib/pgplay/run.lock/info");
        RunResult alive = run(Runner.builder(inventory).runLock(new RunLock("test", "bob@ctl1", "r8", true)), play);
        assertEquals(RunResult.FAILED_HOSTS, alive.exitCode());
        assertTrue(rec.messages.stream().anyMatch(e -> e.contains("h2 acquire run lock failed") && e.contains("still runs on this controller")), rec.messages.toString());
        assertTrue(h2.docker("cat", "/var/lib/pgplay/run.lock/info").contains("run=r7"), "the live holder keeps its lock");
        // --limit h1: the play names h2 too, and a task may reach it, so h2's lock still refuses the run
        RunResult limited = run(Runner.builder(inventory).limit("h1").runLock(new RunLock("test", "bob@ctl1", "r9", false)), play);
        assertEquals(RunResult.FAILED_HOSTS, limited.exitCode());
        assertFalse(h1.dockerResult("grep", "-q", "guarded", "/tmp/trace").getExitCode() == 0, "nothing ran on h1");
        h2.docker("rm", "-rf", "/var/lib/pgplay/run.lock");
        // a lock that cannot be taken for another reason is not "held"
        h1.docker("sh", "-c", "rm -rf /var/lib/pgplay && touch /var/lib/pgplay");
        rec.messages.clear();
        RunResult broken = run(Runner.builder(inventory).runLock(new RunLock("test", "bob@ctl1", "r10", false)), play);
        h1.docker("rm", "-f", "/var/lib/pgplay");
        assertEquals(RunResult.FAILED_HOSTS, broken.exitCode());
        assertTrue(rec.messages.stream().anyMatch(e -> e.contains("h1 acquire run lock failed") && e.contains("cannot take the run lock")
                && !e.contains("lock held")), rec.messages.toString());
        // a lock whose run died before it wrote its info can still be broken
        h2.docker("mkdir", "-p", "/var/lib/pgplay/run.lock");
        RunResult noInfo = run(Runner.builder(inventory).runLock(new RunLock("test", "bob@ctl1", "r11", true)), play);
        assertEquals(0, noInfo.exitCode(), rec.messages.toString());
        assertFalse(h2.dockerResult("test", "-e", "/var/lib/pgplay/run.lock").getExitCode() == 0, "released");
    }

    @Test
    void outsideTheWindowNothingRunsAndAnIrreversibleStepMustFitTheWindow() {
        java.time.ZoneId utc = java.time.ZoneId.of("UTC");
        java.time.Clock at0430 = java.time.Clock.fixed(java.time.Instant.parse("2026-11-22T04:30:00Z"), utc);
        Play play = Play.of("window", "h1").task(trace("before"))
                .task(trace("promote").irreversible(Duration.ofMinutes(45)))
                .task(trace("after"));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> run(
                Runner.builder(inventory).window(MaintenanceWindow.parse("01:00-04:00@UTC")).clock(at0430), play));
        assertEquals("window 01:00-04:00@UTC: now is 04:30, outside the window; nothing was run", e.getMessage());
        assertFalse(LAB.host("h1").dockerResult("test", "-e", "/tmp/trace").getExitCode() == 0);

        RunResult r = run(Runner.builder(inventory).window(MaintenanceWindow.parse("01:00-05:00@UTC")).clock(at0430), play);
        assertEquals(RunResult.FAILED_HOSTS, r.exitCode());
        String trace = LAB.host("h1").docker("cat", "/tmp/trace");
        assertTrue(trace.contains(" before "));
        assertFalse(trace.contains(" promote "), "the irreversible step must not begin");
        assertFalse(trace.contains(" after "));
    }

    @Test
    void vipWithAnIfconfigAliasAndWaitForPorts() {
        LabHost h2 = LAB.host("h2");
        String address = LAB.lab().network().freeVip(1);
        Vip vip = new Vip(address, 24, "eth0", "ifconfig", "eth0:pgvip", "h2");
        Play up = Play.of("vip", "h2").task(Task.of("raise", VirtualIp.present(vip)), Task.of("again", VirtualIp.present(vip)));
        RunResult r = run(up);
        assertEquals(new HostStats(2, 1, 0, 0, 0, 0), r.stats().get("h2"), rec.events.toString());
        String addr = h2.docker("ip", "-o", "-4", "addr", "show", "dev", "eth0");
        assertTrue(addr.contains(address + "/24") && addr.contains("eth0:pgvip"), addr);
        assertEquals(new HostStats(1, 1, 0, 0, 0, 0), run(Play.of("vip", "h2").task(Task.of("drop", VirtualIp.absent(vip)))).stats().get("h2"));
        assertFalse(h2.docker("ip", "-o", "-4", "addr").contains(address + "/"));

        Play ports = Play.of("ports", "h2")
                .task(Task.of("sshd listens", dev.pgplay.core.modules.WaitFor.port("127.0.0.1", 22)))
                .task(Task.of("nothing on port 1", dev.pgplay.core.modules.WaitFor.port("127.0.0.1", 1).timeout(Duration.ofSeconds(1))));
        RunResult p = run(ports);
        assertEquals(1, p.stats().get("h2").failed());
        assertTrue(rec.events.contains("h2 sshd listens ok"), rec.events.toString());
    }

    @Test
    void sensitiveFilesNeverShowTheirContentInDiffs() {
        java.util.List<TaskResult> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        RunListener capture = new RunListener() {
            @Override
            public void hostResult(dev.pgplay.inventory.Host host, Task task, TaskResult result) {
                seen.add(result);
            }
        };
        Play play = Play.of("secret", "h3").task(Task.of("pgpass", FileContent.of("/tmp/checkmode.conf", "*:*:*:rep:Top-Secret-1\n", "0600", "root").sensitive()));
        RunResult r = Runner.builder(inventory).diffMode(true).listener(capture).build().run("test", List.of(play));
        assertEquals(1, r.stats().get("h3").changed());
        TaskResult.Changed c = (TaskResult.Changed) seen.get(0);
        assertTrue(c.diff().isPresent());
        assertFalse(c.diff().get().after().contains("Top-Secret-1"));
        assertTrue(LAB.host("h3").docker("cat", "/tmp/checkmode.conf").contains("Top-Secret-1"), "the file itself is written");
    }

    private long stamp(String host, String task) {
        for (String line : LAB.host(host).docker("cat", "/tmp/trace").split("\n")) {
            String[] f = line.split(" ");
            if (f[1].equals(task)) {
                return Long.parseLong(f[2]);
            }
        }
        throw new AssertionError(host + " never ran " + task);
    }

    private boolean overlap() {
        long[][] spans = new long[3][];
        int i = 0;
        for (LabHost h : LAB.hosts()) {
            String[] lines = h.docker("cat", "/tmp/trace").split("\n");
            spans[i++] = new long[] {Long.parseLong(lines[0].split(" ")[0]), Long.parseLong(lines[1].split(" ")[0])};
        }
        for (int a = 0; a < 3; a++) {
            for (int b = a + 1; b < 3; b++) {
                if (spans[a][0] < spans[b][1] && spans[b][0] < spans[a][1]) {
                    return true;
                }
            }
        }
        return false;
    }
}
