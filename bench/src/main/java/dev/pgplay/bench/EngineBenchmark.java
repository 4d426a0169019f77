package dev.pgplay.bench;

import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.lab.Lab;
import dev.pgplay.lab.LabHost;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bin/bench engine}: HOSTS lab hosts x TASKS trivial command tasks, run by this engine (a
 * fresh JVM, as a user starts it) and by Debian's ansible-playbook (default settings, then with
 * pipelining) against the same hosts in the same run; prints wall times and ratios. Then the
 * controller's heap and threads for 100 hosts x 10 tasks, against the idle JVM as baseline.
 */
public final class EngineBenchmark {
    private EngineBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int hosts = Integer.parseInt(System.getProperty("hosts", "10"));
        int tasks = Integer.parseInt(System.getProperty("tasks", "50"));
        int rounds = Integer.parseInt(System.getProperty("rounds", "3"));
        int memHosts = Integer.parseInt(System.getProperty("memHosts", "100"));
        int memTasks = Integer.parseInt(System.getProperty("memTasks", "10"));
        if (rounds > 0) {
            speed(hosts, tasks, rounds);
        }
        if (memHosts > 0) {
            memory(memHosts, memTasks);
        }
    }

    static void speed(int hosts, int tasks, int rounds) throws Exception {
        System.out.printf("== speed: %d hosts x %d trivial command tasks, forks 5 for both, best of %d ==%n", hosts, tasks, rounds);
        try (Lab lab = Lab.builder().hosts(hosts).withoutPostgres().start()) {
            Path inv = lab.writeInventory("hosts.conf", "");
            Path ini = ansibleInventory(lab);
            Path playbook = ansiblePlaybook(lab.dir(), tasks);
            long engine = Long.MAX_VALUE;
            long channels = Long.MAX_VALUE;
            long ansible = Long.MAX_VALUE;
            long piped = Long.MAX_VALUE;
            for (int i = 0; i < rounds; i++) {
                engine = Math.min(engine, timeEngine(inv, tasks, hosts * tasks, true));
                channels = Math.min(channels, timeEngine(inv, tasks, hosts * tasks, false));
                if (Boolean.parseBoolean(System.getProperty("ansible", "true"))) {
                    ansible = Math.min(ansible, timeAnsible(ini, playbook, false, hosts, tasks));
                    piped = Math.min(piped, timeAnsible(ini, playbook, true, hosts, tasks));
                }
                System.out.printf("round %d: pgplay %d ms, pgplay with a channel per command %d ms%s (best so far)%n", i + 1, engine, channels,
                        ansible == Long.MAX_VALUE ? "" : ", ansible " + ansible + " ms, ansible+pipelining " + piped + " ms");
            }
            System.out.printf("%-40s %8d ms%n", "pgplay (new JVM per run, kept shells)", engine);
            System.out.printf("%-40s %8d ms   kept shells are %.1fx faster%n", "pgplay (a channel per command)", channels, (double) channels / engine);
            if (ansible != Long.MAX_VALUE) {
                System.out.printf("%-40s %8d ms   pgplay is %.1fx faster (target >= 40x)%n", "ansible-playbook (defaults)", ansible, (double) ansible / engine);
                System.out.printf("%-40s %8d ms   pgplay is %.1fx faster (target >= 25x)%n", "ansible-playbook (pipelining)", piped, (double) piped / engine);
            }
        }
    }

    /** One run in a new JVM; {@code shells} false runs every command on an SSH channel of its own (the way before kept shells). */
    static long timeEngine(Path inventory, int tasks, int expectedChanged, boolean shells) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        // the JVM as bin/playbook starts it (no options), or with -DengineJvmOpts=A,B to compare
        String opts = System.getProperty("engineJvmOpts", "");
        if (!opts.isBlank()) {
            cmd.addAll(Arrays.asList(opts.trim().split("[,\\s]+")));
        }
        cmd.addAll(List.of("-Dpgplay.ssh.shells=" + shells, "-cp", System.getProperty("java.class.path"), EngineRun.class.getName(),
                inventory.toString(), String.valueOf(tasks), "5"));
        Result r = exec(cmd, Map.of());
        if (r.code != 0 || !r.out.contains("changed=" + expectedChanged)) {
            throw new IllegalStateException("pgplay run failed (exit " + r.code + "): " + r.out);
        }
        return r.millis;
    }

    static long timeAnsible(Path ini, Path playbook, boolean pipelining, int hosts, int tasks) throws Exception {
        Result r = exec(List.of("ansible-playbook", "-i", ini.toString(), playbook.toString()),
                Map.of("ANSIBLE_PIPELINING", pipelining ? "True" : "False", "ANSIBLE_NOCOLOR", "1",
                        "ANSIBLE_CONFIG", ini.getParent().resolve("ansible.cfg").toString(), "ANSIBLE_LOCAL_TEMP", ini.getParent().resolve("ansible-tmp").toString()));
        long okHosts = r.out.lines().filter(l -> l.contains("changed=" + tasks + " ") && l.contains("failed=0")).count();
        if (r.code != 0 || okHosts != hosts) {
            throw new IllegalStateException("ansible-playbook failed (exit " + r.code + "): " + r.out);
        }
        return r.millis;
    }

    record Result(int code, String out, long millis) {
    }

    static Result exec(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        long start = System.nanoTime();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd.get(0) + " timed out after 30 min");
        }
        return new Result(p.exitValue(), out, (System.nanoTime() - start) / 1_000_000);
    }

    static Path ansibleInventory(Lab lab) throws IOException {
        StringBuilder sb = new StringBuilder("[lab]\n");
        for (LabHost h : lab.hosts()) {
            sb.append(h.name()).append(" ansible_host=").append(h.address()).append('\n');
        }
        sb.append("[lab:vars]\nansible_user=").append(lab.user())
                .append("\nansible_ssh_private_key_file=").append(lab.privateKey())
                .append("\nansible_python_interpreter=/usr/bin/python3")
                .append("\nansible_ssh_common_args='-o UserKnownHostsFile=").append(lab.knownHosts())
                .append(" -o StrictHostKeyChecking=yes'\n");
        // an empty config: Ansible's defaults, whatever the machine's /etc/ansible says
        Files.writeString(lab.dir().resolve("ansible.cfg"), "[defaults]\n");
        Path file = lab.dir().resolve("inventory.ini");
        Files.writeString(file, sb.toString());
        return file;
    }

    static Path ansiblePlaybook(Path dir, int tasks) throws IOException {
        StringBuilder sb = new StringBuilder("- hosts: all\n  gather_facts: false\n  tasks:\n");
        for (int i = 1; i <= tasks; i++) {
            sb.append("    - name: echo ").append(i).append("\n      command: echo ").append(i).append('\n');
        }
        Path file = dir.resolve("trivial.yml");
        Files.writeString(file, sb.toString());
        return file;
    }

    static void memory(int hosts, int tasks) throws Exception {
        // the default first, then Ansible's default of 5 for comparison (or -DmemForks=a,b,...)
        String defaults = Runner.DEFAULT_FORKS == 5 ? "5" : Runner.DEFAULT_FORKS + ",5";
        List<Integer> forksList = Arrays.stream(System.getProperty("memForks", defaults).split(",")).map(String::trim).map(Integer::valueOf).toList();
        // hosts without systemd: the controller is measured, and a hundred systemd containers exhaust
        // this machine's inotify instances (their path units fail to boot)
        try (Lab lab = Lab.builder().hosts(hosts).withoutPostgres().withoutSystemd().start()) {
            Inventory inventory = Inventory.load(lab.writeInventory("hosts.conf", ""));
            HostCpu hostCpu = new HostCpu(lab.hosts());
            for (int forks : forksList) {
                footprint(inventory, hosts, tasks, forks, hostCpu);
            }
        }
    }

    private static void footprint(Inventory inventory, int hosts, int tasks, int forks, HostCpu hostCpu) {
        System.out.printf("%n== controller footprint: %d hosts x %d tasks, forks %d%s, in this JVM ==%n", hosts, tasks, forks,
                forks == Runner.DEFAULT_FORKS ? " (the default)" : "");
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        System.gc();
        long baseHeap = mem.getHeapMemoryUsage().getUsed();
        int baseThreads = threads.getThreadCount();
        threads.resetPeakThreadCount();
        AtomicLong peakHeap = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakHeap.accumulateAndGet(mem.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long host0 = hostCpu.micros();
        long start = System.nanoTime();
        RunResult r = EngineRun.run(inventory, tasks, forks);
        long millis = (System.nanoTime() - start) / 1_000_000;
        long cpuMillis = (os.getProcessCpuTime() - cpu0) / 1_000_000;
        long hostMillis = (hostCpu.micros() - host0) / 1000;
        sampler.interrupt();
        if (r.exitCode() != 0) {
            throw new IllegalStateException("footprint run failed: " + r.stats());
        }
        System.gc();
        long afterHeap = mem.getHeapMemoryUsage().getUsed();
        System.out.printf("run: %d ms for %d commands%s%n", millis, hosts * tasks,
                forks == Runner.DEFAULT_FORKS ? " (target < 5000 ms: " + (millis < 5000 ? "met" : "NOT met") + ")" : "");
        // the hosts share this machine's cores: what the controller itself used says whose time it was
        System.out.printf("controller CPU: %d ms (%.0f%% of one core over the run); machine load average now %.1f on %d cores%n", cpuMillis,
                100.0 * cpuMillis / Math.max(1, millis), os.getSystemLoadAverage(), os.getAvailableProcessors());
        int cores = os.getAvailableProcessors();
        System.out.printf("hosts' CPU: %d ms%s (sshd logins, shells, the commands), %.1f ms per command; the hosts alone need %d ms of "
                        + "this machine's %d cores, the controller %d ms: at best %d ms here%n", hostMillis, hostCpu.complete() ? "" : " (some cgroups not found: at least)",
                hostMillis / (double) (hosts * tasks), hostMillis / cores, cores, cpuMillis / cores, (hostMillis + cpuMillis) / cores);
        System.out.printf("heap: idle baseline %.1f MiB, peak during run %.1f MiB (%.1fx baseline), after run and GC %.1f MiB%n",
                baseHeap / 1048576.0, peakHeap.get() / 1048576.0, (double) peakHeap.get() / baseHeap, afterHeap / 1048576.0);
        System.out.printf("heap target: peak under 256 MiB: %s%n", peakHeap.get() < 256L * 1048576 ? "met" : "NOT met");
        System.out.printf("threads: idle baseline %d, peak during run %d%n", baseThreads, threads.getPeakThreadCount());
    }
}
