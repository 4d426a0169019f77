package dev.pgplay.core.ssh;

import org.apache.sshd.common.util.net.SshdSocketAddress;

/** A local port forwarded through a host's SSH session; closed with its connection or explicitly. */
public final class Tunnel implements AutoCloseable {
    private final SshdSocketAddress local;
    private volatile Runnable onClose = () -> { };

    Tunnel(SshdSocketAddress local) {
        this.local = local;
    }

    void onClose(Runnable stop) {
        onClose = stop;
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
        onClose.run();
    }
}
