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
}
