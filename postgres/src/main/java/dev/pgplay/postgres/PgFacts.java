package dev.pgplay.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgplay.core.run.Fact;
import dev.pgplay.core.ssh.Cmd;
import java.util.ArrayList;
import java.util.List;

/** What a host's postgresql-common says about its PostgreSQL clusters. */
public final class PgFacts {
    private PgFacts() {
    }

    /** One installed PostgreSQL cluster, as pg_lsclusters shows it. */
    public record Cluster(String version, String name, int port, String status, String owner, String dataDir) {
        public boolean online() {
            return status.startsWith("online");
        }

        /** online,recovery in pg_lsclusters means a standby. */
        public boolean inRecovery() {
            return status.contains("recovery");
        }
    }

    /**
     * The host's PostgreSQL clusters (Debian's postgresql-common); empty when none. Read as root:
     * seeing recovery needs the data directory. JSON where pg_lsclusters has it (a data directory
     * may hold spaces); the plain table otherwise, refused when a line is not exactly its seven
     * columns.
     */
    public static final Fact<List<Cluster>> CLUSTERS = Fact.asUser("root", "pg_clusters",
            Cmd.raw("pg_lsclusters --json 2>/dev/null || pg_lsclusters --no-header"), r -> clusters(r.stdout()), List.of());

    static List<Cluster> clusters(String text) {
        List<Cluster> out = new ArrayList<>();
        if (text.trim().startsWith("[")) {
            try {
                for (JsonNode c : new ObjectMapper().readTree(text)) {
                    boolean running = c.path("running").asInt(0) == 1;
                    String status = (running ? "online" : "down") + (c.path("recovery").asInt(0) == 1 ? ",recovery" : "");
                    out.add(new Cluster(c.path("version").asText(), c.path("cluster").asText(), c.path("port").asInt(),
                            status, c.path("owneruid").asText(), dataDir(c.path("pgdata").asText())));
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException("pg_lsclusters --json: unreadable output: " + e.getMessage(), e);
            }
            return out;
        }
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            if (f.length != 7) {
                throw new IllegalStateException("pg_lsclusters: cannot tell the columns apart in '" + line.trim()
                        + "' (a data directory or log file with spaces?); refusing to guess a path");
            }
            out.add(new Cluster(f[0], f[1], Integer.parseInt(f[2]), f[3], f[4], dataDir(f[5])));
        }
        return out;
    }

    /** A data directory as pgplay will use it in commands: absolute, no control characters, no {@code ..}. */
    static String dataDir(String path) {
        if (!path.startsWith("/") || path.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)
                || ("/" + path + "/").contains("/../") || ("/" + path + "/").contains("/./")) {
            throw new IllegalStateException("pg_lsclusters: refusing the data directory '" + path.replaceAll("\\p{Cntrl}", "?")
                    + "' (not a plain absolute path)");
        }
        return path;
    }

}
