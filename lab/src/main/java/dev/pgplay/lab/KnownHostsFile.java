package dev.pgplay.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;

/** Reads sshd's host keys out of a lab container and writes them as an OpenSSH known_hosts file. */
final class KnownHostsFile {
    private KnownHostsFile() {
    }

    static List<String> readHostKeys(GenericContainer<?> container) {
        try {
            Container.ExecResult r = container.execInContainer("sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub");
            if (r.getExitCode() != 0) {
                throw new IllegalStateException("lab: cannot read host keys: " + r.getStderr());
            }
            return parse(r.getStdout());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** "TYPE BASE64" of each line of sshd's *.pub files (the comment dropped). */
    static List<String> parse(String pubFiles) {
        List<String> keys = new ArrayList<>();
        for (String line : pubFiles.split("\n")) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length >= 2) {
                keys.add(parts[0] + " " + parts[1]);
            }
        }
        return keys;
    }

    static void write(Path file, Collection<LabHost> hosts) {
        StringBuilder sb = new StringBuilder();
        for (LabHost host : hosts) {
            for (String key : host.hostKeys()) {
                sb.append(host.address()).append(' ').append(key).append('\n');
            }
        }
        try {
            Files.writeString(file, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("lab: cannot write " + file, e);
        }
    }
}
