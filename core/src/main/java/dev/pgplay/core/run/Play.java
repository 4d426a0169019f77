package dev.pgplay.core.run;

import java.util.ArrayList;
import java.util.List;

/**
 * Tasks applied to the hosts a pattern selects, Ansible's linear strategy: every host finishes a
 * task before the next starts. {@code serial} splits the hosts into batches that run the whole
 * play one after another (a number, a percentage like "30%", or a list of both); handlers run at
 * the end of each batch.
 */
public record Play(String name, String hosts, List<Task> tasks, List<Task> handlers, List<String> serial,
                   int maxFailPercentage, boolean anyErrorsFatal) {


    public static Play of(String name, String hosts) {
        return new Play(name, hosts, List.of(), List.of(), List.of(), 100, false);
    }

    public Play task(Task... more) {
        List<Task> all = new ArrayList<>(tasks);
        all.addAll(List.of(more));
        return new Play(name, hosts, List.copyOf(all), handlers, serial, maxFailPercentage, anyErrorsFatal);
    }

    public Play task(List<Task> more) {
        return task(more.toArray(new Task[0]));
    }

    public Play handler(Task... more) {
        List<Task> all = new ArrayList<>(handlers);
        all.addAll(List.of(more));
        return new Play(name, hosts, tasks, List.copyOf(all), serial, maxFailPercentage, anyErrorsFatal);
    }

    /** Batch sizes: "1", "30%", or several ("1", "5", "50%") with the last one repeated. */
    public Play serial(String... sizes) {
        return new Play(name, hosts, tasks, handlers, List.of(sizes), maxFailPercentage, anyErrorsFatal);
    }

    /** Stop the play when more than this percentage of a batch has failed (Ansible's max_fail_percentage). */
    public Play maxFailPercentage(int percent) {
        return new Play(name, hosts, tasks, handlers, serial, percent, anyErrorsFatal);
    }

    /** Any failure on any host stops the play for every host. */
    public Play failFast() {
        return new Play(name, hosts, tasks, handlers, serial, maxFailPercentage, true);
    }

    /** Splits hosts into batches as {@code serial} says. */
    public static <T> List<List<T>> batches(List<T> hosts, List<String> serial) {
        List<List<T>> out = new ArrayList<>();
        if (serial.isEmpty()) {
            if (!hosts.isEmpty()) {
                out.add(hosts);
            }
            return out;
        }
        int i = 0;
        int spec = 0;
        while (i < hosts.size()) {
            String s = serial.get(Math.min(spec++, serial.size() - 1)).trim();
            int size;
            if (s.endsWith("%")) {
                double pct = Double.parseDouble(s.substring(0, s.length() - 1));
                size = (int) Math.floor(hosts.size() * pct / 100.0);
            } else {
                size = Integer.parseInt(s);
            }
            size = Math.max(1, size);
            out.add(hosts.subList(i, Math.min(hosts.size(), i + size)));
            i += size;
        }
        return out;
    }
}
