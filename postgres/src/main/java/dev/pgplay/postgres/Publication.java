package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;

/**
 * pgplay's publication of every table ({@code pgplay_bluegreen FOR ALL TABLES}) in every database
 * of a cluster that takes connections: what a blue-green upgrade's subscriptions follow, in
 * either direction. Made in the sessions that allow DDL past the {@link DdlGuard}.
 */
public final class Publication extends EachDatabase {
    public static final String NAME = "pgplay_bluegreen";

    private Publication(int port, boolean wanted) {
        super(port, wanted, null);
    }

    /** The publication in every database. */
    public static Publication present(int port) {
        return new Publication(port, true);
    }

    /** The publication gone from every database. */
    public static Publication absent(int port) {
        return new Publication(port, false);
    }

    /** Whether {@code database} has the publication (of all tables); null when it cannot be read. */
    public static Fact<Boolean> published(int port, String database) {
        return Psql.fact("publication", port, database, "SELECT count(*) FROM pg_publication WHERE pubname = " + Psql.literal(NAME)
                + " AND puballtables", rows -> !rows.isEmpty() && !"0".equals(rows.get(0).get(0)), null);
    }

    @Override
    Fact<Boolean> present(String database) {
        return published(port, database);
    }

    @Override
    String sql(String database) {
        // a publication of that name that is not of all tables is not ours to trust: made again
        return "SET pgplay.allow_ddl = on;\nDROP PUBLICATION IF EXISTS " + NAME + ";\n" + (wanted ? "CREATE PUBLICATION " + NAME + " FOR ALL TABLES;\n" : "");
    }

    @Override
    Words words() {
        return new Words("published in %d database(s)", "no publication", "publish all tables of ", "drop the publication of ");
    }
}
