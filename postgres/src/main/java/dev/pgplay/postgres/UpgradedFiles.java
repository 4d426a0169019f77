package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The data files of a cluster made by pg_upgrade (a new major from 15 on, which keeps database
 * OIDs and file numbers) checked against the old, stopped cluster's, on disk and without reading
 * them: every user relation's file and its segments is the old one (link: same inode) or as long
 * as the old one (copy, clone). What it catches: a relation left without its file, pointed at
 * the wrong one, or copied short.
 */
public final class UpgradedFiles {
    private UpgradedFiles() {
    }

    /**
     * Every user relation whose files pg_upgrade carries over (tables, TOAST tables, indexes,
     * materialized views; not sequences, which it restores by setval into new files, nor unlogged
     * relations) of a database: its file's path under the data directory, and its name.
     */
    static final String RELATIONS = "SELECT pg_relation_filepath(c.oid), " + Snapshot.safe("c.oid::regclass::text") + " FROM pg_class c "
            + "WHERE c.oid >= 16384 AND c.relfilenode <> 0 AND c.relpersistence <> 'u' AND c.relkind IN ('r', 'i', 't', 'm') ORDER BY 1";

    /** A path as the server names it: base/DB/FILE or pg_tblspc/TS/PG_VERSION_CATVER/DB/FILE, nothing else. */
    static final Pattern PATH = Pattern.compile("base/\\d+/\\d+|pg_tblspc/\\d+/PG_\\d+_\\d+/\\d+/\\d+");

    /**
     * Reads one path per line on stdin; for each file of the new cluster (and its segments .1, .2,
     * ...) finds the old one (in a tablespace: under the old major's version directory) and says
     * what differs. $1 old data directory, $2 new, $3 link|copy, $4 the old major.
     */
    static final String CHECK = """
            old=$1 new=$2 mode=$3 ov=$4 n=0
            while IFS= read -r p; do
              n=$((n+1))
              [ -e "$new/$p" ] || { echo "$p: no file in the new cluster"; continue; }
              case $p in
                pg_tblspc/*) ts=${p#pg_tblspc/}; ts=${ts%%/*}; rest=${p#pg_tblspc/*/*/}; set -- "$old"/pg_tblspc/"$ts"/PG_"$ov"_*/"$rest"; o=$1 ;;
                *) o=$old/$p ;;
              esac
              for f in "$new/$p" "$new/$p".[0-9]*; do
                [ -e "$f" ] || continue
                of=$o${f#"$new/$p"}
                if [ ! -e "$of" ]; then echo "$p: ${f#"$new/"} has no old file"
                elif [ "$mode" = link ]; then [ "$f" -ef "$of" ] || echo "$p: ${f#"$new/"} is not linked to the old file"
                else [ "$(stat -c %s "$f")" = "$(stat -c %s "$of")" ] || echo "$p: ${f#"$new/"} is $(stat -c %s "$f") bytes, the old one $(stat -c %s "$of")"; fi
              done
            done
            echo "checked $n"
            """;

    /** The outcome: relations checked and what differs (empty: all as expected). */
    public record Result(int checked, List<String> problems) {
    }

    /**
     * Checks every user relation of the new cluster running on {@code port} (read-only) against
     * {@code oldData}, the stopped old cluster's data directory; {@code link} asks for the same
     * inode, otherwise the same length.
     */
    public static Result check(HostContext ctx, int port, String oldData, String newData, boolean link, String oldMajor) {
        StringBuilder paths = new StringBuilder();
        List<String> problems = new ArrayList<>();
        java.util.Map<String, String> names = new java.util.HashMap<>();
        List<String> dbs = Psql.databases(ctx, port, "datallowconn AND datname <> 'template0'");
        java.util.Map<String, List<List<String>>> relations = Psql.rowsPerDatabase(ctx, port, dbs, db -> RELATIONS, Duration.ofMinutes(30));
        for (String db : dbs) {
            for (List<String> row : relations.get(db)) {
                String path = row.get(0);
                if (!PATH.matcher(path).matches()) {
                    problems.add(db + ": " + row.get(1) + ": unexpected file path '" + path + "' (not checked)");
                    continue;
                }
                names.put(path, db + ": " + row.get(1));
                paths.append(path).append('\n');
            }
        }
        ExecResult r = ctx.connection().exec(Cmd.of("sh", "-c", CHECK, "sh", oldData, newData, link ? "link" : "copy", oldMajor),
                ExecOptions.as("root").timeout(Duration.ofMinutes(30)).stdin(paths.toString().getBytes(StandardCharsets.UTF_8)))
                .check(ctx.host().name());
        int checked = 0;
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("checked ")) {
                checked = Integer.parseInt(line.substring(8).trim());
            } else if (!line.isBlank()) {
                int colon = line.indexOf(':');
                String path = colon > 0 ? line.substring(0, colon) : line;
                problems.add(names.getOrDefault(path, path) + line.substring(Math.max(0, colon)));
            }
        }
        return new Result(checked, problems);
    }
}
