package dev.pgplay.playbooks;

import dev.pgplay.lab.LabHost;
import java.util.ArrayList;
import java.util.List;

/**
 * A client application on a lab host that finds the database by name (db.lab): psql as app, a new
 * connection per commit, each acknowledged id appended to /tmp/acked, each failure to /tmp/failed.
 * It stops when closed, or by itself after {@code seconds}.
 */
final class NameClient implements AutoCloseable {
    private final LabHost host;

    private NameClient(LabHost host) {
        this.host = host;
    }

    static NameClient start(LabHost host, int seconds) {
        host.docker("sh", "-c", "rm -f /tmp/acked /tmp/failed; touch /tmp/run");
        host.docker("sh", "-c", "nohup sh -c 'i=0; end=$(($(date +%s) + " + seconds + ")); while [ -e /tmp/run ] && [ $(date +%s) -lt $end ]; do i=$((i+1)); "
                + "if getent hosts db.lab >/dev/null && PGPASSWORD=app-pw PGCONNECT_TIMEOUT=2 psql -X -q -h db.lab -U app -d app "
                + "-c \"INSERT INTO writes (id) VALUES ($((3000000000 + i)))\" >/dev/null 2>&1; then echo $((3000000000 + i)) >> /tmp/acked; "
                + "else echo $i >> /tmp/failed; sleep 0.05; fi; done' >/dev/null 2>&1 &");
        return new NameClient(host);
    }

    /** The ids whose commit was acknowledged. */
    List<Long> acknowledged() {
        List<Long> acked = new ArrayList<>();
        for (String line : host.docker("sh", "-c", "cat /tmp/acked 2>/dev/null || true").split("\n")) {
            if (!line.isBlank()) {
                acked.add(Long.parseLong(line.strip()));
            }
        }
        return acked;
    }

    String failures() {
        return host.docker("sh", "-c", "wc -l < /tmp/failed 2>/dev/null || echo 0").strip();
    }

    @Override
    public void close() throws InterruptedException {
        host.docker("rm", "-f", "/tmp/run");
        Thread.sleep(500);
    }
}
