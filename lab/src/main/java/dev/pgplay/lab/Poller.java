package dev.pgplay.lab;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A monitoring client (postgres_exporter, pgwatch): one kept connection that runs a query every
 * {@code everyMillis}, a new connection after each failure; counts answers and failures and keeps
 * the last error. Bounded: stops when asked or after 10 minutes.
 */
public final class Poller implements AutoCloseable {
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger answers = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final Thread thread;
    private volatile String lastError = "";

    /** Polls {@code url} as {@code user}/{@code password}. */
    public Poller(String url, String user, String password, int everyMillis) {
        this.thread = new Thread(() -> loop(url, user, password, everyMillis), "poller");
        this.thread.setDaemon(true);
    }

    public Poller start() {
        thread.start();
        return this;
    }

    private void loop(String url, String user, String password, int everyMillis) {
        long deadline = System.nanoTime() + 600_000_000_000L;
        Connection c = null;
        while (!stop.get() && System.nanoTime() < deadline) {
            try {
                if (c == null) {
                    c = DriverManager.getConnection(url, user, password);
                }
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM pg_stat_activity")) {
                    r.next();
                }
                answers.incrementAndGet();
            } catch (SQLException e) {
                failures.incrementAndGet();
                lastError = String.valueOf(e.getMessage());
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (SQLException ignored) {
                    // gone anyway
                }
                c = null;
            }
            try {
                Thread.sleep(everyMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
        try {
            if (c != null) {
                c.close();
            }
        } catch (SQLException ignored) {
            // stopping
        }
    }

    public int answers() {
        return answers.get();
    }

    public int failures() {
        return failures.get();
    }

    public String lastError() {
        return lastError;
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
    }
}
