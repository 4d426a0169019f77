package dev.pgplay.core.ssh;

import org.apache.sshd.common.util.net.SshdSocketAddress;

/** A local port forwarded through a host's SSH session; closed with its connection or explicitly. */
public final class Tunnel implements AutoCloseable {
    private final Connection connection;
    private final SshdSocketAddress local;

    Tunnel(Connection connection, SshdSocketAddress local) {
        this.connection = connection;
        this.local = local;
    }

    public int localPort() {
        return local.getPort();
    }

    SshdSocketAddress local() {
        return local;
    }

    /** A JDBC URL for a PostgreSQL database reached through this tunnel. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + localPort() + "/" + database;
    }

    @Override
    public void close() {
        connection.stopForwarding(this);
    }
}
