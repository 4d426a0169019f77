package dev.pgplay.lab;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Asks every node, directly by its own address, whether it accepts writes, over and over
 * (bounded to 10 minutes); counts rounds in which two or more did. A node that does not answer
 * counts as not writable.
 */
public final class WritableMonitor implements AutoCloseable {
    private final java.util.List<String> urls;
    private final String query;

    /** A node takes writes: not in recovery, and a new transaction is not read-only. */
    public static final String ACCEPTS_WRITES = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'";
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;
    private final AtomicInteger bothWritable = new AtomicInteger();
    private final AtomicInteger rounds = new AtomicInteger();

    public WritableMonitor(String urlA, String urlB) {
        this(urlA, urlB, "SELECT NOT pg_is_in_recovery()");
    }

    /**
     * {@code query} answers one boolean: whether the node takes writes (two primaries of a
     * blue-green upgrade: {@link #ACCEPTS_WRITES}).
     */
    public WritableMonitor(String urlA, String urlB, String query) {
        this(java.util.List.of(urlA, urlB), query);
    }

    /** Any number of nodes (a primary and its standbys). */
    public WritableMonitor(java.util.List<String> urls, String query) {
        this.query = query;
        this.urls = java.util.List.copyOf(urls);
        this.thread = new Thread(this::loop, "monitor");
        this.thread.setDaemon(true);
    }

    public WritableMonitor start() {
        thread.start();
        return this;
    }

    private void loop() {
        long deadline = System.nanoTime() + 600_000_000_000L;
        int n = urls.size();
        Connection[] c = new Connection[n];
        while (!stop.get() && System.nanoTime() < deadline) {
            int writable = 0;
            for (int i = 0; i < n; i++) {
                try {
                    if (c[i] == null) {
                        c[i] = DriverManager.getConnection(urls.get(i), "app", "app-pw");
                    }
                    try (ResultSet rs = c[i].createStatement().executeQuery(query)) {
                        rs.next();
                        writable += rs.getBoolean(1) ? 1 : 0;
                    }
                } catch (SQLException e) {
                    try {
                        if (c[i] != null) {
                            c[i].close();
                        }
                    } catch (SQLException ignored) {
                        // gone
                    }
                    c[i] = null;
                }
            }
            rounds.incrementAndGet();
            if (writable >= 2) {
                bothWritable.incrementAndGet();
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Rounds in which two or more nodes said they accept writes. */
    public int bothWritable() {
        return bothWritable.get();
    }

    public int rounds() {
        return rounds.get();
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
    }
}
