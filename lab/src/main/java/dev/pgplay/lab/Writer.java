package dev.pgplay.lab;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An independent application: inserts numbered rows through the VIP, a new connection after each
 * failure, and records every commit the server acknowledged and when. Bounded: stops when asked
 * or after {@code maxRows} rows or 10 minutes.
 */
public final class Writer implements AutoCloseable {
    private final String url;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;
    private final List<Long> acked = new ArrayList<>();
    private final List<Long> ackedAtNanos = new ArrayList<>();
    private volatile int failures;

    /** A writer on {@code url} (user app, password app-pw, table writes(id bigint primary key)). */
    public Writer(String url, int maxRows) {
        this(url, maxRows, 1);
    }

    /** A writer whose ids start at {@code firstId}, so two writers can share the table. */
    public Writer(String url, int maxRows, long firstId) {
        this.url = url;
        this.thread = new Thread(() -> loop(firstId, maxRows), "writer");
        this.thread.setDaemon(true);
    }

    public Writer start() {
        thread.start();
        return this;
    }

    private void loop(long firstId, int maxRows) {
        long deadline = System.nanoTime() + 600_000_000_000L;
        long id = firstId;
        Connection c = null;
        while (!stop.get() && id < firstId + maxRows && System.nanoTime() < deadline) {
            try {
                if (c == null) {
                    c = DriverManager.getConnection(url, "app", "app-pw");
                    c.setAutoCommit(true);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO writes (id) VALUES (?)")) {
                    ps.setLong(1, id);
                    ps.executeUpdate();
                }
                synchronized (this) {
                    acked.add(id);
                    ackedAtNanos.add(System.nanoTime());
                }
                id++;
                Thread.sleep(5);
            } catch (SQLException e) {
                failures++;
                if ("23505".equals(e.getSQLState())) {
                    id++; // committed before, but the acknowledgement was lost: not counted as acknowledged
                }
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (SQLException ignored) {
                    // the connection is gone anyway
                }
                c = null;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The longest time between two acknowledged commits, in ms. */
    public int failures() {
        return failures;
    }

    /** When the last commit was acknowledged (System.nanoTime), or 0. */
    public synchronized long lastAckNanos() {
        return ackedAtNanos.isEmpty() ? 0 : ackedAtNanos.get(ackedAtNanos.size() - 1);
    }

    /** The longest time between two acknowledged commits acknowledged after {@code fromNanos}, in ms. */
    public synchronized long longestGapMillisSince(long fromNanos) {
        long max = 0;
        for (int i = 1; i < ackedAtNanos.size(); i++) {
            if (ackedAtNanos.get(i - 1) >= fromNanos) {
                max = Math.max(max, ackedAtNanos.get(i) - ackedAtNanos.get(i - 1));
            }
        }
        return max / 1_000_000;
    }

    /** The longest gap after {@code fromNanos} as {last acknowledgement before it, first after it} (System.nanoTime), or {0, 0}. */
    public synchronized long[] longestGapSince(long fromNanos) {
        long[] gap = {0, 0};
        for (int i = 1; i < ackedAtNanos.size(); i++) {
            if (ackedAtNanos.get(i - 1) >= fromNanos && ackedAtNanos.get(i) - ackedAtNanos.get(i - 1) > gap[1] - gap[0]) {
                gap = new long[] {ackedAtNanos.get(i - 1), ackedAtNanos.get(i)};
            }
        }
        return gap;
    }

    public synchronized long longestGapMillis() {
        long max = 0;
        for (int i = 1; i < ackedAtNanos.size(); i++) {
            max = Math.max(max, ackedAtNanos.get(i) - ackedAtNanos.get(i - 1));
        }
        return max / 1_000_000;
    }

    public synchronized List<Long> acknowledged() {
        return List.copyOf(acked);
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
    }
}
