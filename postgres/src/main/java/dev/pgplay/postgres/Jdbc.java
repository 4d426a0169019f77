package dev.pgplay.postgres;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.ssh.Tunnel;
import dev.pgplay.inventory.Secret;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * SQL through the PostgreSQL JDBC driver over an SSH tunnel to the host's loopback, for servers
 * that listen only there. Credentials come from the caller (a {@link Secret}); the tunnel closes
 * with the query.
 */
public final class Jdbc {
    private Jdbc() {
    }

    /** Runs one statement; returns its rows as text (empty for statements without a result). */
    public static List<List<String>> query(HostContext ctx, int port, String database, String user, Secret password, String sql) {
        try (Tunnel tunnel = ctx.connection().forward("127.0.0.1", port)) {
            Properties props = new Properties();
            props.setProperty("user", user);
            props.setProperty("password", password.reveal());
            props.setProperty("connectTimeout", "10");
            props.setProperty("ApplicationName", "pgplay");
            try (Connection c = DriverManager.getConnection(tunnel.jdbcUrl(database), props);
                 Statement st = c.createStatement()) {
                List<List<String>> rows = new ArrayList<>();
                if (st.execute(sql)) {
                    try (ResultSet rs = st.getResultSet()) {
                        int n = rs.getMetaData().getColumnCount();
                        while (rs.next()) {
                            List<String> row = new ArrayList<>(n);
                            for (int i = 1; i <= n; i++) {
                                row.add(rs.getString(i));
                            }
                            rows.add(row);
                        }
                    }
                }
                return rows;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(ctx.host().name() + ": SQL through the tunnel to port " + port + " failed: " + e.getMessage(), e);
        }
    }
}
