package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.ConfigCarry;
import dev.pgplay.postgres.PgFacts;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.postgres.UpgradeStatus;
import dev.pgplay.postgres.UpgradeStatus.Key;
import dev.pgplay.postgres.UpgradeStatus.State;
import dev.pgplay.postgres.UpgradeStatus.Step;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The new cluster made like the old one (locale, encoding, checksums), with the old configuration carried over. A step of {@link Major}. */
final class NewCluster {
    private final Major run;

    NewCluster(Major run) {
        this.run = run;
    }

    // ---------------------------------------------------------------- the new cluster

    TaskResult newCluster(HostContext ctx) throws Exception {
        Optional<PgFacts.Cluster> existing = run.find(ctx, run.m.next().version());
        if (existing.isPresent() && run.status.flag(Key.NEW_CREATED) && run.status.flag(Key.NEW_FRESH)) {
            return TaskResult.ok("made by this upgrade, on port " + existing.get().port());
        }
        if (run.status.done(Step.PG_UPGRADE) || run.status.done(Step.COPIED) || run.status.done(Step.SWAPPED)) {
            return TaskResult.ok("made and filled earlier in this upgrade");
        }
        List<String> done = new ArrayList<>();
        if (existing.isPresent()) {
            if (!run.status.flag(Key.NEW_CREATED)) {
                String why = emptyOrWhy(ctx, existing.get());
                if (why != null) {
                    return TaskResult.failed(run.m.next().version() + "/" + run.cluster() + " already exists and " + why
                            + "; refusing to replace it. Move its data elsewhere or drop it (pg_dropcluster --stop "
                            + run.m.next().version() + " " + run.cluster() + ") and run again");
                }
            }
            done.add("pg_dropcluster --stop " + run.m.next().version() + " " + run.cluster()
                    + (run.status.flag(Key.NEW_CREATED) ? " (left by the failed run)" : " (empty, made by the package)"));
            if (ctx.checkMode()) {
                return TaskResult.changed("would drop and make " + run.m.next().version() + "/" + run.cluster() + " again", done);
            }
            Pg.root(ctx, Cmd.of("pg_dropcluster", "--stop", run.m.next().version(), run.cluster()));
        }
        return Imperative.of("create " + run.m.next().version() + "/" + run.cluster(), List.of("pg_createcluster " + run.m.next().version() + " " + run.cluster())).run(ctx, () -> {
            List<String> argv = new ArrayList<>(List.of("pg_createcluster", run.m.next().version(), run.cluster(), "--start-conf", "manual",
                    "--encoding", run.status.get(Key.ENCODING), "--lc-collate", run.status.get(Key.LC_COLLATE), "--lc-ctype", run.status.get(Key.LC_CTYPE)));
            if ("on".equals(run.status.get(Key.CHECKSUMS))) {
                argv.addAll(List.of("--", "--data-checksums"));
            }
            Pg.root(ctx, Cmd.of(argv));
            PgFacts.Cluster made = run.find(ctx, run.m.next().version()).orElseThrow(() -> new IllegalStateException("pg_createcluster made no cluster"));
            done.add(String.join(" ", argv));
            if (!run.status.done(Step.WRITES_BLOCKED)) {
                run.status.state(State.PREPARING); // the old cluster is untouched so far: a plain second run may start over
            }
            run.status.put(Key.NEW_CREATED, true).put(Key.NEW_FRESH, true).put(Key.SIDE_PORT, made.port())
                    .put(Key.NEW_DATA, made.dataDir()).put(Key.MESSAGE, null).undo(List.of(Step.CONFIG));
            run.status.save(ctx);
            return TaskResult.changed("created " + run.m.next().version() + "/" + run.cluster() + " on side port " + made.port(), done);
        });
    }

    /** Null when the cluster holds nothing but what initdb made; else why not. */
    String emptyOrWhy(HostContext ctx, PgFacts.Cluster c) {
        return emptyOrWhy(ctx, c, run.nextOn(ctx, c.port()));
    }

    /** {@link #emptyOrWhy(HostContext, PgFacts.Cluster)} for cluster {@code c}, read through {@code n}. */
    static String emptyOrWhy(HostContext ctx, PgFacts.Cluster c, Pg n) {
        if (!c.online()) {
            if (ctx.checkMode()) {
                return null;
            }
            try {
                Pg.root(ctx, Cmd.of("pg_ctlcluster", c.version(), c.name(), "start"));
            } catch (RuntimeException e) {
                return "is down and does not start (" + e.getMessage() + ")";
            }
        }
        String dbs = n.sql("SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')");
        String tables = n.sql("SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind = 'r' "
                + "AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname !~ '^pg_toast'");
        String roles = n.sql("SELECT count(*) FROM pg_roles WHERE rolname !~ '^pg_' AND oid <> 10");
        if (dbs.equals("0") && tables.equals("0") && roles.equals("0")) {
            return null;
        }
        return "holds " + dbs + " database(s), " + tables + " table(s) in postgres and " + roles + " role(s)";
    }

    /** The new cluster's postgresql.conf value of a setting (as written, unquoted), from pg_conftool. */
    static String conftool(HostContext ctx, String version, String cluster, String name) {
        ExecResult r = ctx.connection().exec(Cmd.of("pg_conftool", "-s", version, cluster, "show", name), ExecOptions.as("root"));
        return r.ok() ? r.out() : null;
    }

    TaskResult carryConfig(HostContext ctx) throws Exception {
        return carryConfig(ctx, run.status);
    }

    /** Carries the configuration into the new cluster that {@code status} describes, recording the step there. */
    TaskResult carryConfig(HostContext ctx, UpgradeStatus status) throws Exception {
        return carry(ctx, ctx, run.m.old(), run.m.next(), status, (int) status.number(Key.SIDE_PORT));
    }

    /**
     * Carries cluster {@code old}'s configuration, read on {@code from}, into cluster {@code next}
     * on {@code to} (the same host for an upgrade in place, another for a move), which serves on
     * {@code port}; the step is recorded in {@code status} (OLD_DATA and NEW_DATA are its data directories).
     */
    static TaskResult carry(HostContext from, HostContext ctx, PgSettings old, PgSettings next, UpgradeStatus status, int port) throws Exception {
        if (status.done(Step.CONFIG)) {
            return TaskResult.ok("carried over earlier in this upgrade");
        }
        String oldConf = old.confDir();
        String newConf = next.confDir();
        String where = from == ctx ? "" : " on " + ctx.host().name();
        return Imperative.of("copy " + oldConf + " to " + newConf + where + " for " + next.version(), List.of("postgresql.conf", "conf.d/*.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf")).run(ctx, () -> {
            Set<String> known = ConfigCarry.parameterNames(ctx.connection().exec(Cmd.of("/usr/lib/postgresql/" + next.version() + "/bin/postgres", "--describe-config"),
                    ExecOptions.as("postgres")).check(ctx.host().name()).stdout());
            Map<String, String> owned = new LinkedHashMap<>();
            for (String k : List.of("data_directory", "hba_file", "ident_file", "external_pid_file")) {
                String v = conftool(ctx, next.version(), next.cluster(), k);
                if (v != null) {
                    owned.put(k, v);
                }
            }
            owned.put("port", String.valueOf(port));
            owned.put("cluster_name", next.version() + "/" + next.cluster());
            List<String> removed = new ArrayList<>();
            List<String> copied = new ArrayList<>();
            ConfigCarry.Result main = ConfigCarry.carry(Major.cat(from, oldConf + "/postgresql.conf"), known, owned, Set.of(), old.version(), next.version());
            Major.write(ctx, newConf + "/postgresql.conf", main.text(), "0644");
            removed.addAll(main.removed());
            copied.add("postgresql.conf");
            String list = Pg.root(from, Cmd.of("find", oldConf + "/conf.d", "-maxdepth", "1", "-type", "f", "-name", "*.conf", "-printf", "%f\\n")).stdout();
            for (String f : list.lines().filter(l -> !l.isBlank()).toList()) {
                // an include file only rewrites the owned settings it has
                ConfigCarry.Result r = ConfigCarry.carry(Major.cat(from, oldConf + "/conf.d/" + f), known, owned, Set.of(), old.version(),
                        next.version(), false);
                Pg.root(ctx, Cmd.of("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0755", newConf + "/conf.d"));
                Major.write(ctx, newConf + "/conf.d/" + f, r.text(), "0644");
                removed.addAll(r.removed());
                copied.add("conf.d/" + f);
            }
            for (String f : List.of("pg_hba.conf", "pg_ident.conf", "pg_ctl.conf", "environment")) {
                if (from.connection().exec(Cmd.of("test", "-f", oldConf + "/" + f), ExecOptions.as("root")).ok()) {
                    Major.write(ctx, newConf + "/" + f, Major.cat(from, oldConf + "/" + f), f.equals("pg_hba.conf") || f.equals("pg_ident.conf") ? "0640" : "0644");
                    copied.add(f);
                }
            }
            String auto = status.get(Key.OLD_DATA) + "/postgresql.auto.conf";
            if (from.connection().exec(Cmd.of("test", "-f", auto), ExecOptions.as("root")).ok()) {
                ConfigCarry.Result r = ConfigCarry.carry(Major.cat(from, auto), known, Map.of(), Set.of("default_transaction_read_only"),
                        old.version(), next.version());
                Major.write(ctx, status.get(Key.NEW_DATA) + "/postgresql.auto.conf", r.text(), "0600");
                removed.addAll(r.removed());
                copied.add("postgresql.auto.conf (ALTER SYSTEM settings)");
            }
            status.put(Key.REMOVED_PARAMETERS, String.join(" | ", removed)).done(Step.CONFIG, ctx);
            List<String> report = new ArrayList<>();
            report.add("copied: " + String.join(", ", copied));
            if (removed.isEmpty()) {
                report.add("every parameter exists in " + next.version());
            } else {
                removed.forEach(r -> report.add("not a parameter of " + next.version() + ", commented out: " + r));
            }
            return Major.changed("configuration of " + old.version() + "/" + old.cluster() + " carried over" + where
                    + (removed.isEmpty() ? "" : "; " + removed.size() + " removed parameter(s)"), copied, report);
        });
    }
}
