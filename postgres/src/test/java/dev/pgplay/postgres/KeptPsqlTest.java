package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeptPsqlTest {
    @Test
    void aDatabaseNameReachesConnectAsOneQuotedArgument() {
        assertEquals("'dbname=''shop'''", KeptPsql.metaQuote("dbname='shop'"));
        assertEquals("'a\\\\b''c\\nd'", KeptPsql.metaQuote("a\\b'c\nd"), "backslash doubled, quote doubled, newline escaped: one line");
        assertTrue(!KeptPsql.metaQuote("x\ny").contains("\n"));
    }

    @Test
    void connectHandsTheConninfoOverAsAQuotedIdentifierSoADoubleQuoteSurvives() {
        // psql reads \connect's own argument as an identifier: it dropped the double quote of x"; DROP (HostileInputIT)
        assertEquals("\\set pgplay_connect 'dbname=''x\"; DROP'''\n\\connect :\"pgplay_connect\"\n", KeptPsql.connectTo("x\"; DROP"));
        assertEquals("\\set pgplay_connect 'dbname=''a\\\\''b'''\n\\connect :\"pgplay_connect\"\n", KeptPsql.connectTo("a'b"));
    }

    @Test
    void largeObjectsAreReplacedInOneTransactionWithTheirOwners() {
        String sql = LargeObjects.replaceSql(List.of(List.of("16400", "6f2722", "6869")));
        assertTrue(sql.startsWith("BEGIN;\nSELECT count(lo_unlink(oid)) FROM pg_largeobject_metadata;\n"), sql);
        assertTrue(sql.contains("SELECT lo_from_bytea(16400, '\\x6869'::bytea);\nALTER LARGE OBJECT 16400 OWNER TO \"o'\"\"\";\n"), sql);
        assertTrue(sql.endsWith("COMMIT;\n"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> LargeObjects.replaceSql(List.of(List.of("1", "6f", "'; DROP"))));
    }
}
