package dev.pgplay.playbooks;

import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.Snapshot;
import dev.pgplay.inventory.Inventory;
import java.util.Map;

/**
 * What a major upgrade reads from the inventory and -e, validated before anything runs: the old
 * cluster ({@code pg-version}, {@code pg-cluster}, {@code pg-port}), {@code new-version}, the
 * method ({@code link}, {@code copy}, {@code clone} for pg_upgrade; {@code dump} for dump and
 * restore, {@code parallel}: auto (the pipe on up to 2 cores), true (pg_dump -Fd -j) or false (the single-stream pipe)), {@code jobs}, {@code resume} and
 * {@code verify}: {@code full} reads every row of both clusters while writes are blocked (the
 * default for dump and restore), {@code catalog} only the catalog, with pg_upgrade the relations'
 * file numbers and data files too, and with copy or clone a sample of rows (the default for
 * pg_upgrade: the window does not grow with the data); {@code standby-rebuild}: {@code auto} (with
 * --link, rsync --hard-links where it is safe, else pg_basebackup) or {@code pg_basebackup}.
 */
record MajorSettings(PgSettings old, PgSettings next, String method, int jobs, Boolean parallel, boolean resume, boolean fullVerify, boolean rsync) {

    static MajorSettings of(Inventory inventory, Map<String, Object> extra, boolean dump) {
        String where = inventory.file().getFileName().toString();
        PgSettings old = PgSettings.of(inventory, extra, false);
        var primary = inventory.host(old.primary());
        String next = newVersion(where, value(extra, primary.varString("new-version", null), "new-version"), old.version(), "the major to upgrade to");
        String method = dump ? "dump" : value(extra, primary.varString("method", null), "method");
        if (method == null) {
            method = "copy";
        }
        if (!dump && !method.matches("link|copy|clone")) {
            throw new IllegalArgumentException(where + ": method must be link, copy or clone, got '" + method + "'");
        }
        String jobsText = value(extra, primary.varString("jobs", null), "jobs");
        int jobs = 0; // 0: as many as the host has cores
        if (jobsText != null && !jobsText.equals("auto")) {
            if (!jobsText.matches("[1-9]\\d{0,2}")) {
                throw new IllegalArgumentException(where + ": jobs must be a number from 1 to 999 or auto, got '" + jobsText + "'");
            }
            jobs = Integer.parseInt(jobsText);
        }
        String parallel = value(extra, primary.varString("parallel", null), "parallel");
        if (parallel != null && !parallel.matches("true|false|auto")) {
            throw new IllegalArgumentException(where + ": parallel must be auto, true or false, got '" + parallel + "'");
        }
        boolean resume = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("resume", "false")));
        String verify = value(extra, primary.varString("verify", null), "verify");
        if (verify != null && !verify.matches("full|catalog")) {
            throw new IllegalArgumentException(where + ": verify must be full or catalog, got '" + verify + "'");
        }
        String rebuild = value(extra, primary.varString("standby-rebuild", null), "standby-rebuild");
        if (rebuild != null && !rebuild.matches("auto|pg_basebackup")) {
            throw new IllegalArgumentException(where + ": standby-rebuild must be auto or pg_basebackup, got '" + rebuild + "'");
        }
        return new MajorSettings(old, old.with(next, old.port()), method, jobs, parallel == null || parallel.equals("auto") ? null : Boolean.valueOf(parallel), resume,
                verify == null ? dump : verify.equals("full"), method.equals("link") && !"pg_basebackup".equals(rebuild));
    }

    /** new-version checked: set ({@code what} says what it is), a major number, newer than {@code oldVersion}. */
    static String newVersion(String where, String next, String oldVersion, String what) {
        if (next == null) {
            throw new IllegalArgumentException(where + ": new-version is not set (" + what + ", e.g. -e new-version=15)");
        }
        if (!next.matches("\\d+")) {
            throw new IllegalArgumentException(where + ": new-version must be a major version like 15, got '" + next + "'");
        }
        if (Integer.parseInt(next) <= Integer.parseInt(oldVersion)) {
            throw new IllegalArgumentException(where + ": new-version " + next + " is not newer than pg-version " + oldVersion);
        }
        return next;
    }

    private static String value(Map<String, Object> extra, String inventoryValue, String key) {
        Object v = extra.get(key);
        return v != null ? v.toString() : inventoryValue;
    }

    /** What {@code parallel=auto} does, measured by bin/bench upgrade (README). */
    static final String AUTO = "pg_dumpall | psql on up to 2 cores, pg_dump -Fd -j / pg_restore -j per database above";

    boolean dump() {
        return method.equals("dump");
    }

    /**
     * What the verification reads: file numbers where pg_upgrade keeps them (a new major from 15
     * on), a sample of rows where pg_upgrade made copies, every row when asked.
     */
    Snapshot.Depth depth() {
        return depth(fullVerify);
    }

    /** {@link #depth()} for a run that verifies every row ({@code full}) or not. */
    Snapshot.Depth depth(boolean full) {
        return new Snapshot.Depth(fileNumbers(), !full && !dump() && !method.equals("link"), full);
    }

    /** pg_upgrade keeps database OIDs and file numbers when the new major is 15 or later. */
    boolean fileNumbers() {
        return !dump() && Integer.parseInt(next.version()) >= 15;
    }

    /** "13/main -> 15/main" */
    String title() {
        return old.version() + "/" + old.cluster() + " -> " + next.version() + "/" + next.cluster();
    }

    /** Where pg_upgrade runs and the dump lives (owned by postgres). */
    String workDir() {
        return "/var/lib/postgresql/pgplay-upgrade-" + old.cluster() + "-" + old.version() + "-" + next.version();
    }

    String oldBinDir() {
        return "/usr/lib/postgresql/" + old.version() + "/bin";
    }

    String newBinDir() {
        return "/usr/lib/postgresql/" + next.version() + "/bin";
    }

    String newBin(String program) {
        return newBinDir() + "/" + program;
    }

    String methodText() {
        return dump() ? (parallel == null ? "dump and restore: " + AUTO : parallel ? "pg_dump/pg_restore, directory format, parallel jobs" : "pg_dumpall | psql, one stream")
                : "pg_upgrade --" + method;
    }
}
