package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PgHelpersTest {
    @Test
    void quoting() {
        assertEquals("'it''s'", Psql.literal("it's"));
        assertEquals("\"My \"\"Role\"\"\"", Psql.ident("My \"Role\""));
    }

    @Test
    void aDatabaseOfAClusterPgplayMadeIsDroppedWithItsSessionsFrom13On() {
        assertEquals("DROP DATABASE IF EXISTS \"a\"\"b\" WITH (FORCE);\n", Psql.dropDatabase("a\"b", "15"));
        assertEquals("DROP DATABASE IF EXISTS \"a\";\n", Psql.dropDatabase("a", "12"));
        assertEquals("DROP DATABASE IF EXISTS \"a\";\n", Psql.dropDatabase("a", "9.6"));
    }

    @Test
    void theDoorLetsOnlyPostgresInOnTheLocalSocketAndShowsNoControlCharacter() {
        List<String> rules = ClusterDoor.RULES.stream().filter(l -> !l.startsWith("#")).toList();
        assertEquals("local all postgres peer", rules.get(0), "the first rule that matches wins: postgres first");
        assertTrue(rules.subList(1, rules.size()).stream().allMatch(l -> l.endsWith(" reject")), rules.toString());
        assertTrue(rules.contains("host all all all reject") && rules.contains("host replication all all reject"), rules.toString());
        assertEquals("mon@10.0.0.5 on x?y (pgwatch?)", ClusterDoor.session("mon", "10.0.0.5", "x\ny", "pgwatch\u001b"));
        assertEquals("postgres@local on postgres", ClusterDoor.session("postgres", "local", "postgres", ""));
    }

    @Test
    void lsnOrder() {
        assertEquals(0x3000148L, Psql.lsn("0/3000148"));
        assertTrue(Psql.lsn("1/0") > Psql.lsn("0/FFFFFFFF"));
    }

    @Test
    void scramVerifierMatchesPostgresFormat() {
        // RFC 7677 test vector: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations
        byte[] salt = java.util.Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
        String v = Scram.verifier("pencil", salt, 4096);
        assertEquals("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", v);
    }

    @Test
    void databaseNamesAreOnlyEverADbnameValue() {
        assertEquals("dbname='host=127.0.0.1 port=55499 user=replicator dbname=x'",
                Psql.conninfo("host=127.0.0.1 port=55499 user=replicator dbname=x"));
        assertEquals("dbname='a\\'b'", Psql.conninfo("a'b"));
        assertEquals("dbname='back\\\\slash'", Psql.conninfo("back\\slash"));
        assertEquals("x\"; DROP\nline", Psql.unhex("78223b2044524f500a6c696e65"));
    }

    @Test
    void clustersFromJsonKeepSpacesAndRefuseAmbiguousText() {
        List<PgFacts.Cluster> c = PgFacts.clusters("[{\"running\":1,\"recovery\":1,\"pgdata\":\"/srv/pg data/15\",\"version\":15,"
                + "\"cluster\":\"main\",\"port\":\"5432\",\"owneruid\":102}]");
        assertEquals(new PgFacts.Cluster("15", "main", 5432, "online,recovery", "102", "/srv/pg data/15"), c.get(0));
        assertTrue(c.get(0).inRecovery());
        assertEquals("/var/lib/postgresql/15/main", PgFacts.clusters(
                "15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n").get(0).dataDir());
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> PgFacts.clusters(
                "15  main    5432 online postgres /srv/pg data/15 /var/log/postgresql/postgresql-15-main.log\n"));
        assertTrue(e.getMessage().contains("refusing to guess a path"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> PgFacts.clusters(
                "[{\"running\":0,\"pgdata\":\"/srv/../etc\",\"version\":15,\"cluster\":\"main\",\"port\":\"5432\"}]"));
        assertTrue(e.getMessage().contains("not a plain absolute path"), e.getMessage());
    }
}
