package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Where an upgrade stands, the new packages, and the checks that change nothing when one fails. A step of {@link Major}. */
final class MajorPreflight {
    private final Major run;

    MajorPreflight(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- status

    TaskResult where(HostContext ctx) {
        // a command of an earlier run (its controller lost) may still work on the data: wait for it first
        if (!ctx.checkMode()) {
            Detached.adopt(ctx, Major.UNIT, "upgrade command", Duration.ofHours(12));
        }
        run.status = UpgradeStatus.read(ctx, run.cluster());
        State state = run.status.state();
        boolean sameUpgrade = run.m.next().version().equals(run.status.get(Key.NEW_VERSION)) && run.m.old().version().equals(run.status.get(Key.OLD_VERSION));
        if ((state == State.UPGRADED || state == State.CLEANED) && sameUpgrade) {
            run.finished = true;
            return TaskResult.ok("already upgraded to " + run.m.next().version() + " (" + run.status.summary() + ")");
        }
        if (state == State.UPGRADING || state == State.FAILED_UPGRADE) {
            if (!run.m.resume()) {
                return TaskResult.failed("a previous run did not finish. Continue it with --resume, or go back to "
                        + run.status.get(Key.OLD_VERSION) + " with: playbook major-rollback. Status: " + run.status.summary());
            }
            if (!sameUpgrade || !run.m.method().equals(run.status.get(Key.METHOD))) {
                return TaskResult.failed("--resume: the run on the host was " + run.status.summary() + ", not " + run.m.title() + " by " + run.m.method());
            }
            return TaskResult.ok("resuming: " + run.status.summary());
        }
        if (state == State.PREPARING && sameUpgrade) {
            // nothing was changed on the old cluster yet: start over, keeping what was made
            run.status.undo(List.of(Step.CONFIG, Step.CHECKED)).put(Key.METHOD, run.m.method());
            return TaskResult.ok("an earlier run stopped before blocking writes (" + run.status.summary() + "): starting over");
        }
        Optional<PgFacts.Cluster> old = run.find(ctx, run.m.old().version());
        if (old.isEmpty()) {
            return TaskResult.failed("no cluster " + run.m.old().version() + "/" + run.cluster() + " on " + ctx.host().name()
                    + " (pg_lsclusters); check pg-version and pg-cluster");
        }
        boolean ours = sameUpgrade && run.status.flag(Key.NEW_CREATED); // the new cluster left by a rolled-back upgrade
        run.status = UpgradeStatus.fresh(run.cluster()).put(Key.OLD_VERSION, run.m.old().version()).put(Key.NEW_VERSION, run.m.next().version())
                .put(Key.METHOD, run.m.method()).put(Key.PORT, run.port()).put(Key.OLD_DATA, old.get().dataDir()).put(Key.NEW_CREATED, ours ? true : null);
        return TaskResult.ok(state == State.NONE ? "no upgrade recorded: starting" : "last run " + state + ": starting again");
    }

    // ---------------------------------------------------------------- packages and pre-flight

    TaskResult packages(HostContext ctx) throws Exception {
        ExecResult r = ctx.connection().exec(Cmd.of("test", "-x", run.m.newBin("pg_upgrade")), ExecOptions.DEFAULT);
        if (r.ok()) {
            return TaskResult.ok(run.m.newBin("pg_upgrade") + " is there");
        }
        List<String> cmds = List.of("apt-get install -y postgresql-" + run.m.next().version() + " postgresql-client-" + run.m.next().version());
        return Imperative.of("install postgresql-" + run.m.next().version(), cmds).run(ctx, () -> {
            TaskResult installed = Apt.present("postgresql-" + run.m.next().version(), "postgresql-client-" + run.m.next().version()).run(ctx);
            return installed.isFailure() ? installed : TaskResult.changed("installed postgresql-" + run.m.next().version(), cmds);
        });
    }

    TaskResult preflight(HostContext ctx) {
        if (run.status.done(Step.WRITES_BLOCKED)) {
            return TaskResult.ok("passed in the run being resumed");
        }
        Pg o = run.old(ctx);
        List<String> report = new ArrayList<>();
        List<String> blockers = new ArrayList<>();
        PgFacts.Cluster c = o.cluster();
        if (!c.online()) {
            return TaskResult.failed(run.m.old().version() + "/" + run.cluster() + " is " + c.status() + "; start it and run again");
        }
        if (o.inRecovery()) {
            return TaskResult.failed(ctx.host().name() + " is in recovery (a standby); roles.primary must name the primary");
        }
        report.add("versions: " + o.serverVersion() + " -> " + nextVersionText(ctx) + " (" + run.m.methodText() + ")");
        locale(o, report);
        long size = disk(ctx, o, c, report, blockers);
        transactionsAndSlots(o, report, blockers);
        standbys(ctx, o, report, blockers);
        int extensions = extensions(ctx, report, blockers);
        blockers.forEach(b -> report.add("BLOCKER: " + b));
        if (!blockers.isEmpty()) {
            return TaskResult.failed(blockers.size() + " blocker(s); nothing was changed: " + String.join("; ", blockers), Map.of("report", report));
        }
        return TaskResult.ok("ready: " + Major.mb(size) + " of data, " + extensions + " extension(s)", Map.of("report", report));
    }

    /** Encoding, collation and checksums, recorded so the new cluster is made the same. */
    private void locale(Pg o, List<String> report) {
        List<String> enc = o.rows("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'template0'").get(0);
        String checksums = o.sql("SHOW data_checksums");
        report.add("locale: encoding " + enc.get(0) + ", LC_COLLATE " + enc.get(1) + ", LC_CTYPE " + enc.get(2) + ", data checksums " + checksums
                + " (the new cluster is made the same)");
        run.status.put(Key.ENCODING, enc.get(0)).put(Key.LC_COLLATE, enc.get(1)).put(Key.LC_CTYPE, enc.get(2)).put(Key.CHECKSUMS, checksums);
    }

    /** The data's size and the room the method needs next to it; returns the size. */
    private long disk(HostContext ctx, Pg o, PgFacts.Cluster c, List<String> report, List<String> blockers) {
        long size = Long.parseLong(o.sql("SELECT sum(pg_database_size(datname))::bigint FROM pg_database"));
        String parent = c.dataDir().substring(0, c.dataDir().lastIndexOf('/'));
        parent = parent.substring(0, parent.lastIndexOf('/'));
        long free = Long.parseLong(ctx.connection().exec(Cmd.of("df", "-B1", "--output=avail", parent), ExecOptions.as("root"))
                .check(ctx.host().name()).stdout().lines().skip(1).findFirst().orElse("0").trim());
        long need = switch (run.m.method()) {
            case "link", "clone" -> size / 20 + (64L << 20);
            case "copy" -> size + size / 10 + (64L << 20);
            default -> (run.parallel(ctx) ? 2 * size : size) + size / 10 + (64L << 20);
        };
        report.add("disk: data " + Major.mb(size) + ", needs about " + Major.mb(need) + " for " + run.m.method() + ", free " + Major.mb(free) + " on " + parent);
        if (free < need) {
            blockers.add("not enough disk: " + Major.mb(need) + " needed, " + Major.mb(free) + " free on " + parent);
        }
        return size;
    }

    /** Prepared transactions block; logical slots block; physical slots are reported (standbys' are made again). */
    private void transactionsAndSlots(Pg o, List<String> report, List<String> blockers) {
        String prepared = o.sql("SELECT count(*) FROM pg_prepared_xacts");
        if (!prepared.equals("0")) {
            blockers.add(prepared + " prepared transaction(s): COMMIT PREPARED or ROLLBACK PREPARED them first (pg_prepared_xacts)");
        }
        for (List<String> slot : o.rows("SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY 1")) {
            if (slot.get(1).equals("logical")) {
                blockers.add("logical replication slot " + slot.get(0) + " is not carried over by a major upgrade; drop it "
                        + "(and re-create it on the new cluster) first");
            } else if (run.m.old().standbys().stream().map(PgSettings::slotFor).anyMatch(slot.get(0)::equals)) {
                report.add("slot " + slot.get(0) + ": made again on " + run.m.next().version() + " for its standby");
            } else {
                report.add("slot " + slot.get(0) + " (physical, " + (slot.get(2).equals("t") ? "active" : "inactive")
                        + "): not carried over; its consumer must be set up again");
            }
        }
    }

    /** Each standby needs the new binaries; streaming clients not in the inventory are named. */
    private void standbys(HostContext ctx, Pg o, List<String> report, List<String> blockers) {
        for (String standby : run.m.old().standbys()) {
            if (!ctx.on(standby).connection().exec(Cmd.of("test", "-x", run.m.newBin("postgres")), ExecOptions.DEFAULT).ok()) {
                String missing = "standby " + standby + " has no PostgreSQL " + run.m.next().version() + " (" + run.m.newBin("postgres") + ")";
                if (ctx.checkMode()) {
                    report.add(missing + ": installed by the step before in a real run");
                } else {
                    blockers.add(missing + "; install postgresql-" + run.m.next().version() + " there first");
                }
            }
        }
        List<String> standbyAddresses = run.m.old().standbys().stream().map(h -> ctx.inventory().host(h).address()).toList();
        for (List<String> r : o.rows("SELECT coalesce(host(client_addr), 'local'), application_name, state FROM pg_stat_replication")) {
            boolean known = standbyAddresses.contains(r.get(0));
            report.add("standby " + r.get(1) + " at " + r.get(0) + " (" + r.get(2) + "): "
                    + (known ? "rebuilt for " + run.m.next().version() + " after the primary" : "NOT in the inventory: it will stop following; rebuild it by hand"));
        }
    }

    /** Extensions in use must exist for the new major; reg* columns block pg_upgrade; returns how many extensions. */
    private int extensions(HostContext ctx, List<String> report, List<String> blockers) {
        Set<String> extensions = new java.util.TreeSet<>();
        for (String name : Psql.databases(ctx, run.port(), "datallowconn AND datname <> 'template0'")) {
            List<List<String>> rows = Psql.rows(ctx, run.port(), name, "SELECT 'e', extname FROM pg_extension;\n"
                    + "SELECT 'r', count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE NOT a.attisdropped AND c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    + "AND a.atttypid IN ('regproc'::regtype, 'regprocedure'::regtype, 'regoper'::regtype, 'regoperator'::regtype, "
                    + "'regconfig'::regtype, 'regdictionary'::regtype, 'regnamespace'::regtype, 'regcollation'::regtype);\n"
                    + "SELECT 't', count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
                    + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast';\n");
            for (List<String> r : rows) {
                if (r.get(0).equals("e")) {
                    extensions.add(r.get(1));
                } else if (r.get(0).equals("r") && !r.get(1).equals("0") && !run.m.dump()) {
                    blockers.add("database " + name + ": " + r.get(1) + " column(s) of reg* types (regproc, regoper, ...) that pg_upgrade "
                            + "cannot carry; change them to text or oid, or use major-dump");
                } else if (r.get(0).equals("t") && name.equals("template1") && !r.get(1).equals("0") && run.m.dump()) {
                    run.notes.add("template1 has " + r.get(1) + " table(s); major-dump does not copy template1");
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String e : extensions) {
            if (!ctx.connection().exec(Cmd.of("test", "-f", "/usr/share/postgresql/" + run.m.next().version() + "/extension/" + e + ".control"),
                    ExecOptions.DEFAULT).ok()) {
                missing.add(e);
            }
        }
        report.add("extensions in use: " + (extensions.isEmpty() ? "none" : String.join(", ", extensions))
                + (missing.isEmpty() ? " (all available for " + run.m.next().version() + ")" : ""));
        if (!missing.isEmpty()) {
            blockers.add("extension(s) " + String.join(", ", missing) + " not installed for PostgreSQL " + run.m.next().version()
                    + ": install their postgresql-" + run.m.next().version() + "-* packages first");
        }
        return extensions.size();
    }

    String nextVersionText(HostContext ctx) {
        ExecResult r = ctx.connection().exec(Cmd.of(run.m.newBin("postgres"), "--version"), ExecOptions.DEFAULT);
        return r.ok() ? r.out().replaceAll("^.*\\) ", "") : run.m.next().version();
    }
}
