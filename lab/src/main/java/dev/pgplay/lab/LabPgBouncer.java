package dev.pgplay.lab;

/** Debian's PgBouncer on a lab host, configured as a site would have it, in front of the lab's cluster (database app). */
public final class LabPgBouncer {
    private LabPgBouncer() {
    }

    /**
     * Makes {@code host} a PgBouncer in front of the primary at {@code primaryAddress}, as a user would configure it:
     * database app (transaction pooling), client logins by SCRAM against its userlist, the admin
     * console for the OS user postgres by peer over the unix socket; started by systemd.
     */
    public static void start(LabHost host, String primaryAddress) {
        start(host, primaryAddress, "transaction");
    }

    /** {@link #start(LabHost, String)} with {@code poolMode}, or none in the file when null (PgBouncer's default: session). */
    public static void start(LabHost host, String primaryAddress, String poolMode) {
        host.docker("sh", "-c", """
                cat > /etc/pgbouncer/pgbouncer.ini <<EOF
                ;; the site's PgBouncer: pgplay re-points [databases] entries only
                [databases]
                app = host=$1 port=5432 dbname=app

                [pgbouncer]
                listen_addr = *
                listen_port = 6432
                unix_socket_dir = /var/run/postgresql
                auth_type = hba
                auth_hba_file = /etc/pgbouncer/hba.conf
                auth_file = /etc/pgbouncer/userlist.txt
                admin_users = postgres
                $2
                max_client_conn = 200
                default_pool_size = 20
                server_login_retry = 1
                logfile = /var/log/postgresql/pgbouncer.log
                pidfile = /var/run/postgresql/pgbouncer.pid
                EOF
                printf 'local pgbouncer postgres peer\\nhost app app 0.0.0.0/0 scram-sha-256\\n' > /etc/pgbouncer/hba.conf
                # the admin user must be known to PgBouncer; peer (hba.conf) is its only way in, so no password
                printf '"app" "app-pw"\\n"postgres" ""\\n' > /etc/pgbouncer/userlist.txt
                chown postgres:postgres /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/hba.conf /etc/pgbouncer/userlist.txt
                chmod 0640 /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/hba.conf /etc/pgbouncer/userlist.txt
                systemctl enable -q pgbouncer && systemctl restart pgbouncer
                for i in $(seq 50); do su postgres -c 'psql -X -q -h /var/run/postgresql -p 6432 -d pgbouncer -c "SHOW VERSION"' >/dev/null 2>&1 && exit 0; sleep 0.2; done
                journalctl -u pgbouncer --no-pager | tail -5; exit 1
                """, "sh", primaryAddress, poolMode == null ? ";; pool_mode: PgBouncer's default" : "pool_mode = " + poolMode);
    }

    /** SHOW DATABASES of the PgBouncer on {@code host}, database app: "HOST PAUSED". */
    public static String app(LabHost host) {
        return host.docker("su", "postgres", "-c", "psql -X -q -t -A -F '|' -h /var/run/postgresql -p 6432 -d pgbouncer -c 'SHOW DATABASES' "
                + "| awk -F '|' '$1 == \"app\" {print $2, $12}'").strip();
    }
}
