package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PgBouncerIniTest {
    static final String INI = """
            ;; written by the user
            [databases]
            ; app = host=10.0.0.1 port=5432 (a comment stays)
            app = host=10.0.0.1 port=5432 dbname=app
            shop=host='10.0.0.1' dbname=shop pool_size=5
            reports = hostaddr=10.0.0.9 host=10.9.9.9 dbname=reports
            * = host=10.0.0.2 port=5432

            [pgbouncer]
            listen_addr = 10.0.0.1
            listen_port = 6432
            """;

    @Test
    void entriesThatLeadToANodeLeadToTheNewPrimaryAndNothingElseChanges() {
        PgBouncerIni r = PgBouncerIni.repoint(INI, Set.of("10.0.0.1", "10.0.0.2"), "10.0.0.2");
        assertEquals(List.of("app", "shop"), r.changed());
        assertEquals(INI.replace("app = host=10.0.0.1 port=5432 dbname=app", "app = host=10.0.0.2 port=5432 dbname=app")
                .replace("shop=host='10.0.0.1' dbname=shop", "shop=host=10.0.0.2 dbname=shop"), r.text());
        assertEquals(Set.of("10.0.0.2", "10.9.9.9"), PgBouncerIni.hosts(r.text()));
    }

    @Test
    void aFileAlreadyPointingThereIsLeftAlone() {
        String done = PgBouncerIni.repoint(INI, Set.of("10.0.0.1", "10.0.0.2"), "10.0.0.2").text();
        PgBouncerIni again = PgBouncerIni.repoint(done, Set.of("10.0.0.1", "10.0.0.2"), "10.0.0.2");
        assertEquals(List.of(), again.changed());
        assertEquals(done, again.text());
    }
}
