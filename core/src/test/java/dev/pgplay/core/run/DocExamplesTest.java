package dev.pgplay.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ScriptedTransport;
import dev.pgplay.inventory.Inventory;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operation of docs/ARCHITECTURE.md ("How to write an operation"), as written there, does what the text says. */
class DocExamplesTest {
    @TempDir
    Path dir;

    /** Copied from docs/ARCHITECTURE.md. */
    public static final class Sysctl implements Operation {
        private final String name;
        private final String value;

        public Sysctl(String name, String value) { this.name = name; this.value = value; }

        private Fact<String> current() {
            return Fact.of("sysctl " + name, Cmd.of("sysctl", "-n", name), r -> r.out().trim(), "");
        }

        @Override
        public Plan plan(HostContext ctx) {
            if (ctx.fact(current()).equals(value)) {
                return Plan.nothing(name + " is " + value);
            }
            return Plan.of("set " + name + " to " + value, Step.asRoot(Cmd.of("sysctl", "-w", name + "=" + value)));
        }

        @Override
        public List<Fact<?>> changes() { return List.of(current()); }
    }

    @Test
    void theOperationOfTheDocsPlansOnlyWhatIsNeededAndCheckModeComesFree() {
        Inventory inventory = Inventory.parse("hosts { h1 { address = 10.0.0.1 } }", "hosts.conf", dir);
        Play play = Play.of("sysctl", "h1").task(Task.of("swappiness", new Sysctl("vm.swappiness", "10")));
        ScriptedTransport fake = new ScriptedTransport().reply("sysctl -n", 0, "60\n");
        RunResult check = Runner.builder(inventory).transport(fake).checkMode(true).build().run("doc", List.of(play));
        assertEquals(1, check.stats().get("h1").changed());
        assertEquals(List.of("sysctl -n vm.swappiness"), fake.commands("h1"));

        ScriptedTransport real = new ScriptedTransport().reply("sysctl -n", 0, "60\n");
        Runner.builder(inventory).transport(real).build().run("doc", List.of(play));
        assertEquals(List.of("sysctl -n vm.swappiness", "sysctl -w vm.swappiness=10"), real.commands("h1"));
        assertTrue(real.calls().get(1).becomeUser().isPresent());

        ScriptedTransport done = new ScriptedTransport().reply("sysctl -n", 0, "10\n");
        RunResult ok = Runner.builder(inventory).transport(done).build().run("doc", List.of(play));
        assertEquals(0, ok.stats().get("h1").changed());
    }
}
