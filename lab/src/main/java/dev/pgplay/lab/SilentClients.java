package dev.pgplay.lab;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Clients that open a TCP connection and never send a startup packet (a stuck health check, a
 * port scanner, a client that gave up mid-handshake when its VIP moved), one every
 * {@code everyMillis} until {@link #stopOpening()}, at most {@code max}, each held until
 * {@link #close()}. A connection that reaches a postmaster during its shutdown gets a child
 * that waits for the packet, and the postmaster waits for that child (until
 * authentication_timeout, 60 s by default). Bounded: at most {@code max} sockets and 2 minutes.
 */
public final class SilentClients implements AutoCloseable {
    private final InetSocketAddress target;
    private final long everyMillis;
    private final int max;
    private final List<Socket> open = new ArrayList<>();
    private final AtomicBoolean opening = new AtomicBoolean(true);
    private final Thread thread;

    public SilentClients(String host, int port, long everyMillis, int max) {
        this.target = new InetSocketAddress(host, port);
        this.everyMillis = everyMillis;
        this.max = max;
        this.thread = new Thread(this::loop, "silent-clients");
        this.thread.setDaemon(true);
    }

    public SilentClients start() {
        thread.start();
        return this;
    }

    private void loop() {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (opening.get() && System.nanoTime() < deadline && count() < max) {
            Socket s = new Socket();
            try {
                s.connect(target, 1_000);
                synchronized (open) {
                    open.add(s);
                }
            } catch (IOException e) {
                closeQuietly(s); // refused (the postmaster is gone) or timed out: try again
            }
            try {
                Thread.sleep(everyMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** How many connections are held now. */
    public int count() {
        synchronized (open) {
            return open.size();
        }
    }

    /** No more connections are opened; those open are held. */
    public void stopOpening() throws InterruptedException {
        opening.set(false);
        thread.join(5_000);
    }

    @Override
    public void close() throws InterruptedException {
        stopOpening();
        synchronized (open) {
            open.forEach(SilentClients::closeQuietly);
            open.clear();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do: the socket is gone either way
        }
    }
}
