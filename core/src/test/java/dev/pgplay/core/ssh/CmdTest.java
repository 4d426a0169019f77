package dev.pgplay.core.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class CmdTest {
    @Test
    void quotesOnlyWhatNeedsIt() {
        assertEquals("apt-get install -y postgresql-15=15.20-0+deb12u1",
                Cmd.of("apt-get", "install", "-y", "postgresql-15=15.20-0+deb12u1").shellLine());
        assertEquals("echo '' 'a b' 'x'\"'\"'; touch /tmp/pwned; echo '\"'\"''", Cmd.of("echo", "", "a b", "x'; touch /tmp/pwned; echo '").shellLine());
    }

    @Test
    void envAndCombinators() {
        Cmd c = Cmd.of("apt-get", "install", "-y", "x").env("DEBIAN_FRONTEND", "noninteractive");
        assertEquals("env DEBIAN_FRONTEND=noninteractive apt-get install -y x", c.shellLine());
        assertEquals("{ true; } && { echo 'a b'; }", Cmd.of("true").and(Cmd.of("echo", "a b")).shellLine());
        assertEquals("{ cat f; } | { grep x; }", Cmd.of("cat", "f").pipe(Cmd.of("grep", "x")).shellLine());
        assertThrows(IllegalArgumentException.class, () -> Cmd.of("x").env("A;B", "v"));
    }

    @Test
    void displayHidesSecrets() {
        Cmd c = Cmd.of("psql", "-c", "ALTER ROLE r PASSWORD 'secret'").displayedAs("psql -c 'ALTER ROLE r PASSWORD ******'");
        assertEquals("psql -c 'ALTER ROLE r PASSWORD ******'", c.toString());
    }

    @Test
    void alongsideRunsBothAtOnceAndFailsWhenEitherFails() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("alongside");
        String flag = dir.resolve("flag").toString();
        // the first waits (3 s at most) for a file only the second makes: it passes only when both run at once
        Cmd waits = Cmd.of("sh", "-c", "i=0; while [ ! -e \"$1\" ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.01; done", "sh", flag);
        assertEquals(0, local(waits.alongside(Cmd.of("touch", flag))));
        assertEquals(3, local(Cmd.of("sh", "-c", "exit 3").alongside(Cmd.of("true"))));
        assertEquals(1, local(Cmd.of("true").alongside(Cmd.of("false"))));
        assertEquals(0, local(Cmd.of("true").alongside(Cmd.of("true")).and(Cmd.of("true"))));
    }

    private static int local(Cmd cmd) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", cmd.shellLine()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }
}
