package dev.pgplay.postgres;

import java.util.List;

/**
 * Large objects of one database copied to another server, which logical replication does not
 * do: read on the source while its writes are blocked, then on the target every large object is
 * replaced, in one transaction, by the source's (same OID, owner and content). Held in memory on
 * the way: meant for the few, small large objects applications keep next to their tables.
 */
public final class LargeObjects {
    private LargeObjects() {
    }

    /** OID, owner (hex) and content (hex) of every large object. */
    public static final String READ = "SELECT oid::text, " + Psql.hex("pg_get_userbyid(lomowner)") + ", encode(lo_get(oid), 'hex')"
            + " FROM pg_largeobject_metadata ORDER BY oid;\n";

    /** SQL, run in the target database, that replaces its large objects by those {@link #READ} printed on the source. */
    public static String replaceSql(List<List<String>> rows) {
        StringBuilder sql = new StringBuilder("BEGIN;\nSELECT count(lo_unlink(oid)) FROM pg_largeobject_metadata;\n");
        for (List<String> r : rows) {
            long oid = Long.parseLong(r.get(0));
            String hex = r.get(2);
            if (!hex.matches("[0-9a-f]*")) {
                throw new IllegalStateException("large object " + oid + ": content not read as hex");
            }
            sql.append("SELECT lo_from_bytea(").append(oid).append(", '\\x").append(hex).append("'::bytea);\n");
            sql.append("ALTER LARGE OBJECT ").append(oid).append(" OWNER TO ").append(Psql.ident(Psql.unhex(r.get(1)))).append(";\n");
        }
        return sql.append("COMMIT;\n").toString();
    }
}
