package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;

/**
 * How a run reaches its hosts: one {@link Connection} per host, opened on first use and reused by
 * every task, all closed with the transport. {@link SshTransport} is the real one (Apache MINA
 * SSHD); tests of the runner and of operations may script a fake. Thread-safe: tasks on
 * different hosts connect in parallel.
 */
public interface Transport extends AutoCloseable {
    /** The connection to a host, opened on first use; throws {@link UnreachableException}. */
    Connection connect(Host host);

    /**
     * Another connection to the same host ({@code lane} 1, 2, ...; 0 is {@link #connect(Host)}),
     * for work that keeps more channels open at once than one connection may carry (OpenSSH's
     * MaxSessions, 10 by default): opened on first use, closed with the transport. A transport
     * with no such limit may return the one connection.
     */
    default Connection connect(Host host, int lane) {
        return connect(host);
    }

    /** Closes every connection. */
    @Override
    void close();
}
