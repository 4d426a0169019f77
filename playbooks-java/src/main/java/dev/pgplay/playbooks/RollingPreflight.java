package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.core.modules.Apt;
import dev.pgplay.postgres.Psql;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.inventory.Vip;
import java.util.ArrayList;
import java.util.List;

/** Checks before anything changes: both nodes reachable, streaming, lag under the limit, the VIP where the inventory says. A step of {@link RollingMinor}. */
final class RollingPreflight {
    private RollingPreflight() {
    }

    static TaskResult preflight(HostContext ctx, PgSettings s, RollingState st, long maxLag) {
        Pg p = new Pg(ctx.on(st.primary), s);
        Pg o = new Pg(ctx.on(st.standby), s);
        List<Pg> all = new ArrayList<>(List.of(p, o));
        st.others.forEach(h -> all.add(new Pg(ctx.on(h), s)));
        List<String> problems = new ArrayList<>();
        List<String> info = new ArrayList<>();
        packages(s, st, all, problems, info);
        for (Pg pg : all) {
            host(s, pg, problems);
        }
        String prepared = p.sql("SELECT count(*) FROM pg_prepared_xacts");
        if (!"0".equals(prepared)) {
            problems.add(prepared + " prepared transaction(s) on " + p.name() + " (pg_prepared_xacts): commit or roll them back first");
        }
        String longTx = p.sql("SELECT string_agg(pid || ' ' || usename || ' ' || (now() - xact_start)::text, '; ') FROM pg_stat_activity "
                + "WHERE xact_start < now() - interval '5 minutes' AND backend_type = 'client backend'");
        if (!longTx.isEmpty()) {
            info.add("long transactions (they will be ended at the switchover): " + longTx);
        }
        if (!st.standbyDown && !st.oldPrimaryNeedsRejoin) {
            replication(p, o, maxLag, problems, info);
        }
        for (Pg other : all.subList(2, all.size())) {
            String up = RollingMinor.upstream(ctx, other.name());
            if (other.online() && up.isEmpty() && other.inRecovery() && !other.streamingFrom(p.ctx().host().address())) {
                // after a lost controller: a switchover happened before this standby was re-pointed; it is made to follow first
                info.add(other.name() + " does not stream from " + p.name() + " (" + other.receiver().map(Object::toString).orElse("no WAL receiver")
                        + "): it is made to follow " + p.name() + " before anything else changes");
            } else if (other.online()) {
                replication(up.isEmpty() ? p : new Pg(ctx.on(up), s), other, maxLag, problems, info);
            }
            if (up.isEmpty() && other.online()) {
                followable(other, problems);
            }
        }
        s.vip().ifPresent(vip -> vip(vip, p, o, info));
        if (!problems.isEmpty()) {
            return TaskResult.failed(String.join("; ", problems));
        }
        st.notes.addAll(info);
        return TaskResult.ok("target " + st.target + "; " + String.join("; ", info));
    }

    /** One candidate version for every host (the target), installed on each and not newer than it. */
    private static void packages(PgSettings s, RollingState st, List<Pg> all, List<String> problems, List<String> info) {
        String pkg = "postgresql-" + s.version();
        java.util.Map<String, String> candidates = new java.util.LinkedHashMap<>();
        for (Pg pg : all) {
            candidates.put(pg.name(), pg.candidate(pkg));
        }
        List<String> none = candidates.entrySet().stream().filter(e -> e.getValue().isEmpty()).map(java.util.Map.Entry::getKey).toList();
        if (!none.isEmpty()) {
            problems.add("no candidate version of " + pkg + " (apt-cache policy) on " + String.join(", ", none));
        } else if (new java.util.HashSet<>(candidates.values()).size() > 1) {
            problems.add("the hosts would install different versions: " + candidates.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(java.util.stream.Collectors.joining(", ")) + "; align their apt sources first");
        }
        st.target = candidates.get(all.get(1).name());
        for (Pg pg : all) {
            String inst = pg.installed(pkg);
            if (inst.isEmpty() && pg.ctx().fact(Apt.DPKG_INTERRUPTED)) {
                info.add("dpkg was interrupted on " + pg.name() + " (" + pkg + " half-installed): the install step finishes it");
            } else if (inst.isEmpty()) {
                problems.add(pkg + " is not installed on " + pg.name());
            } else if (!st.target.isEmpty() && versionLess(pg, st.target, inst)) {
                problems.add(pg.name() + " has " + inst + ", newer than the candidate " + st.target);
            }
        }
    }

    /** arping for the VIP's gratuitous ARP, and 512 MB free for the data directory. */
    private static void host(PgSettings s, Pg pg, List<String> problems) {
        if (!pg.ctx().connection().exec(Cmd.of("sh", "-c", "command -v arping")).ok() && s.vip().isPresent()) {
            problems.add("arping is missing on " + pg.name() + " (apt-get install iputils-arping): the VIP needs gratuitous ARP");
        }
        String free = pg.ctx().connection().exec(Cmd.of("df", "--output=avail", "-B1M", pg.dataDir()), ExecOptions.as("postgres")).out();
        String[] lines = free.split("\n");
        long mb = lines.length > 1 ? Long.parseLong(lines[lines.length - 1].trim()) : 0;
        if (mb < 512) {
            problems.add(pg.name() + " has " + mb + " MB free for " + pg.dataDir() + " (512 MB needed)");
        }
    }

    /** The standby is in recovery, streams from the primary and is no more than {@code maxLag} bytes behind. */
    private static void replication(Pg p, Pg o, long maxLag, List<String> problems, List<String> info) {
        if (!o.inRecovery()) {
            problems.add(o.name() + " is not in recovery");
        } else if (!o.streamingFrom(p.ctx().host().address()) && !awaitStreaming(o, p)) {
            problems.add(o.name() + " does not stream from " + p.name() + " (pg_stat_wal_receiver: "
                    + o.receiver().map(Object::toString).orElse("no receiver") + ")");
        } else {
            long lag = lagBytes(p, o);
            if (lag > maxLag) {
                problems.add(o.name() + " is " + lag + " bytes behind (limit " + maxLag + ", -e max-lag-bytes=N)");
            } else {
                info.add(o.name() + " lag " + lag + " bytes");
            }
        }
    }

    /**
     * A standby re-pointed after the switchover gets its primary_conninfo from
     * conf.d/pgplay-standby.conf (cluster-setup writes it there): one set elsewhere, say by ALTER
     * SYSTEM in postgresql.auto.conf, would win over it and keep the standby on the old primary.
     */
    private static void followable(Pg standby, List<String> problems) {
        String source = standby.sql("SELECT coalesce(sourcefile, '') FROM pg_settings WHERE name = 'primary_conninfo'");
        if (!source.endsWith("/conf.d/pgplay-standby.conf")) {
            problems.add(standby.name() + "'s primary_conninfo comes from " + (source.isEmpty() ? "no file" : source)
                    + ", not conf.d/pgplay-standby.conf: it could not follow the new primary. Move it there (cluster-setup writes it), "
                    + "or name the standby's upstream in hosts.conf (a cascading standby)");
        }
    }

    /** Where the VIP is now, when not on the primary. */
    private static void vip(Vip vip, Pg p, Pg o, List<String> info) {
        boolean onP = vipHeld(p.ctx(), vip);
        boolean onO = vipHeld(o.ctx(), vip);
        if (onO) {
            info.add("the VIP " + vip.address() + " is on " + o.name() + ", which is not the primary: it moves to " + p.name() + " first");
        } else if (!onP) {
            info.add("the VIP " + vip.address() + " is on no host (it will be raised on the primary)");
        }
    }

    /**
     * A standby whose WAL receiver is reconnecting (after a network cut heals it retries every
     * wal_retrieve_retry_interval; a dead connection ends at wal_receiver_timeout) gets up to a
     * minute to stream again before the pre-flight refuses.
     */
    static boolean awaitStreaming(Pg standby, Pg primary) {
        standby.ctx().progress(standby.name() + " is in recovery but does not stream yet: waiting up to 60 s");
        return standby.waitStreamingFrom(primary.ctx().host().address(), standby.ctx().checkMode() ? 1 : 60);
    }

    static boolean vipHeld(HostContext ctx, PgSettings s) {
        return s.vip().isPresent() && vipHeld(ctx, s.vip().get());
    }

    static boolean vipHeld(HostContext ctx, Vip vip) {
        ctx.forget(VirtualIp.held(vip));
        return ctx.fact(VirtualIp.held(vip));
    }

    static long lagBytes(Pg primary, Pg standby) {
        // a cascading standby's upstream is itself in recovery: its end of WAL is what it has received
        long current = Psql.lsn(primary.sql("SELECT CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) "
                + "ELSE pg_current_wal_lsn() END"));
        String replay = standby.sql("SELECT coalesce(pg_last_wal_replay_lsn()::text, '0/0')");
        return Math.max(0, current - Psql.lsn(replay));
    }

    /** dpkg's version order: is {@code a} older than {@code b}? */
    static boolean versionLess(Pg pg, String a, String b) {
        return pg.ctx().connection().exec(Cmd.of("dpkg", "--compare-versions", a, "lt", b)).ok();
    }
}
