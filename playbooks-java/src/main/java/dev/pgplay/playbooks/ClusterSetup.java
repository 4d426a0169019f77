package dev.pgplay.playbooks;

import dev.pgplay.postgres.Pg;
import dev.pgplay.postgres.ReplicationRole;
import dev.pgplay.postgres.ReplicationSlots;
import dev.pgplay.postgres.RewindGrants;
import dev.pgplay.postgres.PgSettings;
import dev.pgplay.core.modules.FileContent;
import dev.pgplay.core.modules.ManagedBlock;
import dev.pgplay.postgres.PgCluster;
import dev.pgplay.postgres.Psql;
import dev.pgplay.postgres.Scram;
import dev.pgplay.core.modules.VirtualIp;
import dev.pgplay.core.modules.WaitFor;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Imperative;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.Task;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.inventory.Inventory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds a primary/standby pair from bare hosts: replication settings (wal_level, senders, slots,
 * wal_log_hints so pg_rewind works), pg_hba for the replication user and client networks, the
 * replication role (password as a SCRAM verifier), a physical slot per standby, each standby
 * cloned with pg_basebackup and streaming, and the VIP on the primary with gratuitous ARP.
 * Idempotent: a second run changes nothing.
 */
public final class ClusterSetup implements Playbook {
    @Override
    public String name() {
        return "cluster-setup";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.of(dev.pgplay.core.run.PlaybookOption.bool("force-reclone", false,
                "replace a read-write standby that holds databases by a clone of the primary"));
    }

    @Override
    public String description() {
        return "build a streaming primary/standby pair with replication slots and the VIP on the primary (idempotent)";
    }

    static String settingsFile() {
        return "# written by pgplay cluster-setup\n"
                + "listen_addresses = '*'\n"
                + "wal_level = replica\n"
                + "max_wal_senders = 10\n"
                + "max_replication_slots = 10\n"
                + "wal_log_hints = on\n"
                + "hot_standby = on\n"
                + "hot_standby_feedback = on\n"
                + "wal_keep_size = '256MB'\n";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        PgSettings s = PgSettings.of(inventory, extra);
        String all = s.primary() + "," + String.join(",", s.standbys());
        String standbys = String.join(",", s.standbys());
        boolean force = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("force-reclone", "false")));

        List<String> hba = new ArrayList<>();
        for (String h : inventory.select(all).stream().map(x -> x.address()).toList()) {
            hba.add("host replication " + s.replicationUser() + " " + h + "/32 scram-sha-256");
            // pg_rewind reads the source server through a normal connection
            hba.add("host postgres " + s.replicationUser() + " " + h + "/32 scram-sha-256");
        }
        for (String net : s.clientNetworks()) {
            hba.add("host all all " + net + " scram-sha-256");
        }

        Play configure = Play.of("configure PostgreSQL for replication", all)
                .task(Task.of("cluster " + s.version() + "/" + s.cluster() + " exists and runs", ctx -> {
                    Pg pg = new Pg(ctx, s);
                    var c = pg.cluster();
                    return c.online() ? TaskResult.ok(c.version() + "/" + c.name() + " " + c.status())
                            : TaskResult.failed(c.version() + "/" + c.name() + " is " + c.status() + "; start it (pg_ctlcluster "
                            + c.version() + " " + c.name() + " start) and run again");
                }))
                .task(Task.of("replication settings", FileContent.of(s.confDir() + "/conf.d/pgplay.conf", settingsFile(), "0644", "postgres:postgres"))
                        .notify("restart PostgreSQL"))
                .task(Task.of("pg_hba rules for replication and clients", ManagedBlock.atTop(s.confDir() + "/pg_hba.conf", "replication", hba))
                        .notify("reload PostgreSQL"))
                .task(Task.of("replication password for postgres (.pgpass)", ctx -> new Pg(ctx, s).pgpass().run(ctx)))
                .task(Task.flushHandlers())
                .handler(Task.of("restart PostgreSQL", PgCluster.restarted(s.version(), s.cluster())))
                .handler(Task.of("reload PostgreSQL", PgCluster.reloaded(s.version(), s.cluster())));

        Play primary = Play.of("primary: replication role and slots", s.primary())
                .task(Task.of("primary is not in recovery", ctx -> new Pg(ctx, s).inRecovery()
                        ? TaskResult.failed(ctx.host().name() + " is in recovery (a standby), but the inventory says it is the primary; fix roles.primary")
                        : TaskResult.ok("read-write")))
                .task(Task.of("replication role " + s.replicationUser(), ReplicationRole.present(s.port(), s.replicationUser(), s.replicationPassword())))
                .task(Task.of("pg_rewind may read files as " + s.replicationUser(), RewindGrants.to(s.port(), s.replicationUser())))
                .task(Task.of("replication slot per standby", slotsFor(s.port(), s.standbys())));

        Play clone = Play.of("standbys: clone and stream", standbys).serial("1")
                .task(Task.of("clone from the primary (pg_basebackup)", ctx -> cloneStandby(ctx, s, force)).irreversible(Duration.ofMinutes(30)))
                .task(Task.of("streaming from the primary", ctx -> {
                    String primaryAddress = ctx.inventory().host(s.primary()).address();
                    TaskResult r = WaitFor.sql(s.port(), "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver",
                            "streaming " + primaryAddress).timeout(Duration.ofSeconds(60)).run(ctx);
                    return r;
                }));

        Play vip = Play.of("VIP on the primary", all)
                .task(Task.of("VIP not on the standbys", ctx -> s.vip().isEmpty() ? TaskResult.skipped("no VIP in the inventory")
                        : VirtualIp.absent(s.vip().get()).run(ctx)).when(ctx -> !ctx.host().name().equals(s.primary())))
                .task(Task.of("VIP on the primary (gratuitous ARP)", ctx -> s.vip().isEmpty() ? TaskResult.skipped("no VIP in the inventory")
                        : VirtualIp.present(s.vip().get()).run(ctx)).when(ctx -> ctx.host().name().equals(s.primary())));

        return List.of(configure, primary, clone, vip);
    }

    /** Clones a standby from the primary unless it already streams from it; refuses to wipe a node with data. */
    static TaskResult cloneStandby(HostContext ctx, PgSettings s, boolean force) throws Exception {
        Pg pg = new Pg(ctx, s);
        String primaryAddress = ctx.inventory().host(s.primary()).address();
        String slot = PgSettings.slotFor(ctx.host().name());
        if (!ctx.checkMode()) {
            pg.recoverCutClone();
        }
        boolean online = pg.online();
        if (online && pg.inRecovery() && pg.streamingFrom(primaryAddress)) {
            return TaskResult.ok("already streaming from " + s.primary());
        }
        if (online && !pg.inRecovery() && !force) {
            String dbs = pg.sql("SELECT string_agg(regexp_replace(quote_ident(datname), '[[:cntrl:]]', '?', 'g'), ', ') FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')");
            if (!dbs.isEmpty()) {
                return TaskResult.failed(ctx.host().name() + " is a read-write server with databases " + dbs
                        + "; refusing to replace its data with a clone. If it really is a disposable standby, run again with -e force-reclone=true");
            }
        }
        String data = pg.dataDir();
        List<String> plan = List.of("stop " + s.version() + "/" + s.cluster(), "move " + data + " aside",
                "pg_basebackup -h " + primaryAddress + " -S " + slot + " -X stream", "standby.signal + primary_conninfo", "start");
        return Imperative.of("clone " + ctx.host().name() + " from " + s.primary(), plan).run(ctx, () -> {
            if (online) {
                pg.stopFast();
            }
            ctx.progress("pg_basebackup from " + primaryAddress);
            pg.cloneFrom(primaryAddress, slot);
            return TaskResult.changed("cloned from " + s.primary() + " with slot " + slot, plan);
        });
    }

    /** A slot for each of these standbys on the primary's server. */
    static ReplicationSlots slotsFor(int port, List<String> standbys) {
        return ReplicationSlots.present(port, standbys.stream().map(PgSettings::slotFor).toList());
    }
}
