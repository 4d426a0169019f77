package dev.pgplay.playbooks;

import dev.pgplay.core.modules.ManagedBlock;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.core.ssh.ExecResult;
import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Scram;
import dev.pgplay.postgres.UpgradeStatus.Step;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * How the target's pg_dump reaches the source for the time of the copy: a login role of its own
 * on the source ({@value #ROLE}, superuser, a fresh random password each run, valid for a week at
 * most), a pg_hba block of one line ({@link ManagedBlock}, at the top) for the address the target connects from, and the password in a
 * .pgpass of its own on the target (0600, never in argv). Proven by a connection before writes
 * are blocked; all of it removed once the data is copied, or when the move is given up. A step
 * of {@link Move}.
 */
final class MoveAccess {
    static final String ROLE = "pgplay_move";
    /** The name of the pg_hba block. */
    static final String BLOCK = "major-move";
    static final String PGPASS = "/var/lib/postgresql/.pgplay-move.pgpass";

    private final Move run;

    MoveAccess(Move run) {
        this.run = run;
    }

    /** The libpq connection to the source's database {@code db} as the role, without password (.pgpass). */
    String conninfo(HostContext ctx, String db) {
        return "host='" + quoted(run.sourceAddress(ctx)) + "' port=" + run.port() + " user=" + ROLE + " connect_timeout=10 " + Psql.conninfo(db);
    }

    private static String quoted(String v) {
        return v.replace("\\", "\\\\").replace("'", "\\'");
    }

    TaskResult open(HostContext ctx) throws Exception {
        if (run.status.done(Step.COPIED)) {
            return TaskResult.ok("not needed: the data is copied");
        }
        HostContext t = run.target(ctx);
        String from = fromAddress(t);
        String hba = run.source(ctx).sql("SHOW hba_file");
        List<String> cmds = List.of("CREATE ROLE " + ROLE + " LOGIN SUPERUSER (a random password, valid 7 days) on " + ctx.host().name(),
                hba + ": host all " + ROLE + " " + from + " scram-sha-256", PGPASS + " on " + t.host().name() + " (0600)",
                "a connection from " + t.host().name() + " to " + run.sourceAddress(ctx) + ":" + run.port());
        if (ctx.checkMode()) {
            return TaskResult.changed("would: " + String.join("; ", cmds), cmds);
        }
        byte[] raw = new byte[24];
        new SecureRandom().nextBytes(raw);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        String until = Instant.now().plus(Duration.ofDays(7)).toString();
        Psql.run(ctx, run.port(), "postgres", Psql.WRITABLE + "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + ROLE + "') THEN CREATE ROLE "
                + ROLE + "; END IF; END$$;\nALTER ROLE " + ROLE + " LOGIN SUPERUSER PASSWORD " + Psql.literal(Scram.verifier(password))
                + " VALID UNTIL " + Psql.literal(until) + ";\n");
        TaskResult rule = ManagedBlock.atTop(hba, BLOCK, List.of("host all " + ROLE + " " + from + " scram-sha-256")).run(ctx);
        if (rule.isFailure()) {
            return rule;
        }
        if (rule instanceof TaskResult.Changed) {
            run.source(ctx).sql("SELECT pg_reload_conf()");
        }
        String entry = Pg.pgpassField(run.sourceAddress(ctx)) + ":" + run.port() + ":*:" + ROLE + ":" + password + "\n";
        t.connection().upload(entry.getBytes(StandardCharsets.UTF_8), PGPASS, "0600", "postgres:postgres");
        ExecResult r = t.connection().exec(Cmd.of("sh", "-c", "PGPASSFILE=\"$1\" exec \"$2\" -X -q -t -A -d \"$3\" -c 'SELECT 1'", "sh", PGPASS,
                run.m.newBin("psql"), conninfo(ctx, "postgres")), ExecOptions.as("postgres").timeout(Duration.ofSeconds(30)));
        if (!r.ok() || !r.out().equals("1")) {
            return TaskResult.failed(t.host().name() + " cannot connect to " + run.sourceAddress(ctx) + ":" + run.port() + " as " + ROLE + ": "
                    + r.stderr().strip() + "; check that the source listens there (listen_addresses) and that no firewall is in between; nothing was blocked yet");
        }
        return TaskResult.changed("the target reaches the source as " + ROLE + " from " + from, cmds);
    }

    /** The role, the pg_hba line and the target's .pgpass removed (each only where it is). */
    TaskResult close(HostContext ctx) {
        HostContext t = run.target(ctx);
        List<String> done = new ArrayList<>();
        Pg source = run.source(ctx);
        if (!source.online()) {
            return TaskResult.failed(ctx.host().name() + ": the source is not running; its role " + ROLE + " and pg_hba line stay until a run can remove them");
        }
        String hba = source.sql("SHOW hba_file");
        // ManagedBlock reports and changes nothing in check mode; the role and the .pgpass follow suit
        TaskResult rule = ManagedBlock.absent(hba, BLOCK).run(ctx);
        if (rule.isFailure()) {
            return rule;
        }
        if (rule instanceof TaskResult.Changed) {
            done.add(hba + ": block " + BLOCK + " removed");
            if (!ctx.checkMode()) {
                source.sql("SELECT pg_reload_conf()");
            }
        }
        if (source.sql("SELECT count(*) FROM pg_roles WHERE rolname = '" + ROLE + "'").equals("1")) {
            done.add("DROP ROLE " + ROLE);
            if (!ctx.checkMode()) {
                Psql.run(ctx, run.port(), "postgres", Psql.WRITABLE + "DROP ROLE IF EXISTS " + ROLE + ";\n");
            }
        }
        if (t.connection().exec(Cmd.of("test", "-e", PGPASS), ExecOptions.as("root")).ok()) {
            done.add("rm " + PGPASS + " on " + t.host().name());
            if (!ctx.checkMode()) {
                t.connection().exec(Cmd.of("rm", "-f", PGPASS), ExecOptions.as("root")).check(t.host().name());
            }
        }
        if (done.isEmpty()) {
            return TaskResult.ok("no access of the copy left");
        }
        return TaskResult.changed((ctx.checkMode() ? "would: " : "") + String.join("; ", done), done);
    }

    /**
     * The address the target's connections to the source come from (its route to the source), as
     * a pg_hba address; the target's inventory address when the route cannot be read.
     */
    private String fromAddress(HostContext t) {
        String to = run.sourceAddress(t);
        ExecResult r = t.connection().exec(Cmd.of("ip", "-o", "route", "get", to), ExecOptions.DEFAULT);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(" src (\\S+)").matcher(r.ok() ? r.stdout() : "");
        String a = m.find() ? m.group(1) : t.host().address();
        return a.matches("[0-9.]+") ? a + "/32" : a.contains(":") ? a + "/128" : a;
    }
}
