package dev.pgplay.bench;

import dev.pgplay.lab.LabHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * CPU time the lab's containers used, read from their cgroups (v2 or hybrid {@code cpu.stat},
 * v1 {@code cpuacct.usage}): the lab hosts share this machine's cores with the controller, so a
 * run's time is only the controller's to the extent the hosts left it the cores.
 */
final class HostCpu {
    private final List<Path> files = new ArrayList<>();
    private final boolean complete;

    HostCpu(List<LabHost> hosts) {
        boolean all = true;
        for (LabHost h : hosts) {
            Optional<Path> f = find(h.containerId());
            f.ifPresent(files::add);
            all &= f.isPresent();
        }
        complete = all;
    }

    /** Whether every host's cgroup was found (otherwise {@link #micros} is a lower bound). */
    boolean complete() {
        return complete;
    }

    /** The hosts' CPU time so far, in microseconds. */
    long micros() {
        long sum = 0;
        for (Path f : files) {
            try {
                if (f.getFileName().toString().equals("cpuacct.usage")) {
                    sum += Long.parseLong(Files.readString(f).trim()) / 1000;
                } else {
                    for (String line : Files.readAllLines(f)) {
                        if (line.startsWith("usage_usec ")) {
                            sum += Long.parseLong(line.substring(11).trim());
                        }
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // a host gone: its time is not counted
            }
        }
        return sum;
    }

    private static Optional<Path> find(String id) {
        List<Path> candidates = List.of(
                Path.of("/sys/fs/cgroup/system.slice/docker-" + id + ".scope/cpu.stat"),
                Path.of("/sys/fs/cgroup/docker/" + id + "/cpu.stat"),
                Path.of("/sys/fs/cgroup/unified/docker/" + id + "/cpu.stat"),
                Path.of("/sys/fs/cgroup/unified/system.slice/docker-" + id + ".scope/cpu.stat"),
                Path.of("/sys/fs/cgroup/cpuacct/docker/" + id + "/cpuacct.usage"),
                Path.of("/sys/fs/cgroup/cpuacct/system.slice/docker-" + id + ".scope/cpuacct.usage"));
        return candidates.stream().filter(Files::isReadable).findFirst();
    }
}
