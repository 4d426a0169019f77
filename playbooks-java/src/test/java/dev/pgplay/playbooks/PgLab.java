package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A lab primary/standby pair built by the cluster-setup playbook, with an application role and table. */
final class PgLab {
    final Lab lab;
    final Path inventory;
    final String vip;

    PgLab(Lab lab, String extraInventory) throws Exception {
        this.lab = lab;
        this.vip = lab.freeVip();
        Path pw = lab.dir().resolve("replication-password");
        Files.writeString(pw, "rep-" + System.nanoTime() + ":x'\\y\n");
        String subnet = lab.network().subnet();
        this.inventory = lab.writeInventory("pg.conf", """
                roles {
                  primary = db1
                  standby = [db2]
                  vip { address = "%s", prefix = 24, interface = eth0, owner = db1 }
                }
                vars {
                  replication-password-file = "%s"
                  client-networks = ["%s"]
                }
                %s
                """.formatted(vip, pw, subnet, extraInventory == null ? "" : extraInventory));
    }

    record Run(int code, String out) {
    }

    Run playbook(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String[] all = new String[args.length + 3];
        all[0] = args[0];
        all[1] = inventory.toString();
        System.arraycopy(args, 1, all, 2, args.length - 1);
        all[all.length - 2] = "--log-dir";
        all[all.length - 1] = lab.dir().resolve("logs").toString();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int code = Main.run(all, ps, ps);
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        return new Run(code, text);
    }

    /** cluster-setup, then an application role and table on the primary. */
    void setUpCluster() {
        Run r = playbook("cluster-setup");
        assertEquals(0, r.code(), r.out());
        sql(host("db1"), "postgres", "CREATE ROLE app LOGIN PASSWORD 'app-pw'");
        sql(host("db1"), "postgres", "CREATE DATABASE app OWNER app");
        sql(host("db1"), "app", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp()); ALTER TABLE writes OWNER TO app;");
    }

    LabHost host(String name) {
        return lab.host(name);
    }

    /** psql as postgres inside the container (test set-up and checks from the outside, not the code under test). */
    static String sql(LabHost host, String db, String sql) {
        return host.docker("su", "postgres", "-c", "psql -X -q -t -A -v ON_ERROR_STOP=1 -d " + db + " -c \"$0\"", sql).strip();
    }

    static String version(LabHost host) {
        return host.docker("dpkg-query", "-W", "-f", "${Version}", "postgresql-15");
    }

    static boolean inRecovery(LabHost host) {
        return "t".equals(sql(host, "postgres", "SELECT pg_is_in_recovery()"));
    }

    static boolean holdsVip(LabHost host, String vip) {
        return host.docker("ip", "-o", "-4", "addr", "show").contains(" " + vip + "/");
    }

    String jdbc(String address, String db) {
        return "jdbc:postgresql://" + address + ":5432/" + db + "?connectTimeout=1&socketTimeout=2&loginTimeout=2";
    }
}
