package dev.pgplay.cli;

import dev.pgplay.core.output.ConsoleListener;
import dev.pgplay.core.output.JsonEventsListener;
import dev.pgplay.core.run.MaintenanceWindow;
import dev.pgplay.core.run.Options;
import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.RunLock;
import dev.pgplay.core.run.RunResult;
import dev.pgplay.core.run.Runner;
import dev.pgplay.core.run.Task;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.inventory.InventoryException;
import dev.pgplay.inventory.Problem;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code playbook NAME INVENTORY [options]}: runs a playbook against an inventory. Exit codes: 0;
 * 1 usage, inventory or window error; 2 failed hosts; 4 unreachable hosts (2 and 4 ORed).
 */
@Command(name = "playbook", version = "pgplay 0.1.0",
        description = "Runs a PostgreSQL upgrade playbook (or any playbook on the class path) over SSH.",
        footer = {"", "Exit codes: 0 ok; 1 usage, inventory or window error; 2 failed hosts; 4 unreachable hosts (ORed)."})
public final class Main implements Callable<Integer> {
    static final int USAGE = 1;

    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "playbook to run (see --list)")
    String name;

    @Parameters(index = "1", arity = "0..1", paramLabel = "INVENTORY", description = "inventory file, e.g. hosts.conf")
    Path inventoryFile;

    @Option(names = {"-h", "--help"}, description = "this help; with NAME, also the playbook's options (-e KEY=VALUE)")
    boolean help;

    @Option(names = {"-V", "--version"}, description = "print the version")
    boolean version;

    @Option(names = "--list", description = "list the playbooks with a one-line description")
    boolean list;

    @Option(names = {"-C", "--check"}, description = "report what would change, change nothing")
    boolean check;

    @Option(names = {"-D", "--diff"}, description = "show before/after of files and settings")
    boolean diff;

    @Option(names = {"-l", "--limit"}, paramLabel = "PATTERN", description = "only these hosts (names, groups, globs, !exclude, &intersect)")
    String limit;

    @Option(names = {"-e", "--extra-vars"}, paramLabel = "KEY=VALUE", description = "extra variable (highest precedence); repeatable")
    List<String> extraVars = new ArrayList<>();

    @Option(names = {"-t", "--tags"}, split = ",", description = "only tasks with these tags")
    List<String> tags = new ArrayList<>();

    @Option(names = "--skip-tags", split = ",", description = "skip tasks with these tags")
    List<String> skipTags = new ArrayList<>();

    @Option(names = {"-f", "--forks"}, defaultValue = "" + Runner.DEFAULT_FORKS, description = "hosts worked on in parallel (default: ${DEFAULT-VALUE})")
    int forks;

    @Option(names = "--list-tasks", description = "list the tasks of each play and exit")
    boolean listTasks;

    @Option(names = "--list-hosts", description = "list the hosts of each play and exit")
    boolean listHosts;

    @Option(names = "--events", paramLabel = "FILE", description = "write every event as a JSON line to FILE")
    Path events;

    @Option(names = "--window", paramLabel = "HH:MM-HH:MM[@ZONE]", description = "refuse to start outside this window, or to begin an irreversible step that would not end inside it")
    String window;

    @Option(names = "--resume", description = "continue a major upgrade that stopped or failed, from the status kept on the host")
    boolean resume;

    @Option(names = "--break-lock", description = "remove a run lock left on the hosts by a run that died")
    boolean breakLock;

    @Option(names = "--log-dir", paramLabel = "DIR", description = "where the run's log file goes (default: ~/.local/state/pgplay/logs)")
    Path logDir;

    @Option(names = "--report", paramLabel = "FILE.html", description = "write the run as a self-contained HTML page to FILE.html "
            + "(one is always written beside the log file)")
    Path report;

    @Option(names = "-v", description = "more output: -v shows commands, -vv their output")
    boolean[] verbose = new boolean[0];

    private final PrintStream out;
    private final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the CLI and returns its exit code (no System.exit: usable from tests and embedders). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new Main(out, err));
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        cli.setParameterExceptionHandler((e, badArgs) -> {
            err.println("playbook: " + e.getMessage() + "   (playbook --help)");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            err.println("playbook: " + e.getMessage());
            return USAGE;
        });
        return cli.execute(args);
    }

    /** The playbooks on the class path (ServiceLoader), by name. */
    public static Map<String, Playbook> playbooks() {
        Map<String, Playbook> out = new java.util.TreeMap<>();
        for (Playbook p : ServiceLoader.load(Playbook.class)) {
            out.put(p.name(), p);
        }
        return out;
    }

    /** Bad usage or input, found before any host is contacted: its lines go to stderr, the exit code is 1. */
    private static final class UsageError extends Exception {
        final List<String> lines;

        UsageError(String... lines) {
            super(lines[0], null, false, false);
            this.lines = List.of(lines);
        }
    }

    @Override
    public Integer call() throws Exception {
        Map<String, Playbook> all = playbooks();
        if (version || help || list) {
            return info(all);
        }
        try {
            Playbook playbook = playbook(all);
            Inventory inventory = inventory();
            Map<String, Object> vars = vars(playbook, inventory);
            List<Play> plays = plays(playbook, inventory, vars);
            Runner.Builder builder = builder(playbook, inventory, vars);
            if (listHosts || listTasks) {
                list(builder.build(), plays);
                return 0;
            }
            return run(playbook, builder, plays);
        } catch (UsageError e) {
            e.lines.forEach(err::println);
            return USAGE;
        }
    }

    /** --version, --help (with the playbook's options when one is named), --list. */
    private int info(Map<String, Playbook> all) {
        if (version) {
            out.println("pgplay 0.1.0");
        } else if (help) {
            new CommandLine(this).usage(out);
            Playbook p = name == null ? null : all.get(name);
            if (p != null) {
                out.println();
                out.println(p.name() + ": " + p.description());
                out.println(p.options().isEmpty() ? "It has no options." : "Its options (-e KEY=VALUE, or vars in the inventory):");
                Options.help(p).forEach(out::println);
            }
        } else {
            int width = all.keySet().stream().mapToInt(String::length).max().orElse(4);
            all.values().forEach(p -> out.printf("%-" + width + "s  %s%n", p.name(), p.description()));
        }
        return 0;
    }

    private Playbook playbook(Map<String, Playbook> all) throws UsageError {
        if (name == null || inventoryFile == null) {
            throw new UsageError("playbook: usage: playbook NAME INVENTORY [options]   (playbook --list, playbook --help)");
        }
        Playbook playbook = all.get(name);
        if (playbook == null) {
            throw new UsageError("playbook: unknown playbook '" + name + "' (known: " + String.join(", ", all.keySet()) + ")");
        }
        return playbook;
    }

    private Inventory inventory() throws UsageError {
        try {
            return Inventory.load(inventoryFile);
        } catch (InventoryException e) {
            List<String> lines = new ArrayList<>();
            e.problems().forEach(p -> lines.add(p.toString()));
            lines.add("playbook: " + e.problems().size() + " problem(s) in " + inventoryFile + "; nothing was run");
            throw new UsageError(lines.toArray(String[]::new));
        }
    }

    /** -e KEY=VALUE and --resume, checked against the playbook's declared options and the inventory's vars. */
    private Map<String, Object> vars(Playbook playbook, Inventory inventory) throws UsageError {
        Map<String, String> given = new LinkedHashMap<>();
        for (String kv : extraVars) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new UsageError("playbook: -e expects KEY=VALUE, got '" + kv + "'");
            }
            given.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        if (resume) {
            if (playbook.options().stream().noneMatch(o -> o.name().equals("resume"))) {
                throw new UsageError("playbook: --resume: " + playbook.name() + " has nothing to resume (a re-run continues it); nothing was run");
            }
            given.put("resume", "true");
        }
        try {
            return Options.validate(playbook, given, inventory);
        } catch (IllegalArgumentException e) {
            List<String> lines = new ArrayList<>();
            e.getMessage().lines().forEach(l -> lines.add("playbook: " + l));
            lines.add("playbook: nothing was run");
            throw new UsageError(lines.toArray(String[]::new));
        }
    }

    /** The plays, with --window and --limit checked too (an unknown name is an error before anything runs). */
    private List<Play> plays(Playbook playbook, Inventory inventory, Map<String, Object> vars) throws UsageError {
        try {
            List<Play> plays = playbook.plays(inventory, vars);
            if (window != null) {
                MaintenanceWindow.parse(window);
            }
            if (limit != null) {
                inventory.select(limit);
            }
            return plays;
        } catch (IllegalArgumentException e) {
            throw new UsageError("playbook: " + e.getMessage() + "; nothing was run");
        }
    }

    private Runner.Builder builder(Playbook playbook, Inventory inventory, Map<String, Object> vars) {
        Runner.Builder builder = Runner.builder(inventory).checkMode(check).diffMode(diff).forks(forks)
                .tags(new HashSet<>(tags)).skipTags(new HashSet<>(skipTags)).extraVars(vars)
                .listener(new ConsoleListener(out, verbose.length, diff, System.console() != null, System::currentTimeMillis))
                .runLock(new RunLock(playbook.name(), owner(), UUID.randomUUID().toString(), breakLock));
        if (limit != null) {
            builder.limit(limit);
        }
        if (window != null) {
            builder.window(MaintenanceWindow.parse(window));
        }
        return builder;
    }

    /** --list-hosts / --list-tasks: what would run, nothing contacted. */
    private void list(Runner probe, List<Play> plays) {
        for (Play play : plays) {
            out.println("play: " + play.name());
            if (listHosts) {
                probe.hostsOf(play).forEach(h -> out.println("  " + h.name() + " (" + h.address() + ")"));
            }
            if (listTasks) {
                for (Task t : play.tasks()) {
                    if (probe.selected(t)) {
                        out.println("  " + t.name() + (t.tagSet().isEmpty() ? "" : "  tags=" + t.tagSet()));
                    }
                }
            }
        }
    }

    /** Runs the plays; Ctrl-C lets the tasks under way finish and starts nothing new. */
    private int run(Playbook playbook, Runner.Builder builder, List<Play> plays) {
        Path logFile = startLog(playbook.name());
        JsonEventsListener json = events == null ? null : new JsonEventsListener(events);
        if (json != null) {
            builder.listener(json);
        }
        List<Path> reports = new java.util.ArrayList<>();
        if (logFile != null) {
            reports.add(logFile.resolveSibling(logFile.getFileName().toString().replaceAll("\\.log$", "") + ".html"));
        }
        if (report != null) {
            reports.add(report);
        }
        if (!reports.isEmpty()) {
            builder.listener(new dev.pgplay.core.output.HtmlReport(reports.toArray(Path[]::new)));
        }
        Runner runner = builder.build();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            err.println("\nplaybook: interrupted: letting the tasks under way finish, starting nothing new...");
            runner.cancel();
            try {
                done.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pgplay-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            RunResult result = runner.run(playbook.name(), plays);
            if (logFile != null) {
                out.println("log: " + logFile);
            }
            if (!reports.isEmpty()) {
                out.println("report: " + reports.get(reports.size() - 1));
            }
            return result.exitCode();
        } catch (IllegalStateException e) {
            err.println("playbook: " + e.getMessage());
            return USAGE;
        } finally {
            done.countDown();
            if (json != null) {
                json.close();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already
            }
        }
    }

    private Path startLog(String playbook) {
        try {
            Path dir = logDir != null ? logDir : Path.of(System.getProperty("user.home"), ".local", "state", "pgplay", "logs");
            Path file = dev.pgplay.core.output.PrivateFile.create(
                    dir.resolve(playbook + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".log"));
            System.setProperty("pgplay.logfile", file.toString());
            reconfigureLogging();
            org.slf4j.LoggerFactory.getLogger(Main.class).info("run of {} with inventory {}", playbook, inventoryFile);
            return file;
        } catch (java.io.IOException e) {
            err.println("playbook: warning: no log file: " + e.getMessage());
            return null;
        }
    }

    private static void reconfigureLogging() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.reset();
            ch.qos.logback.classic.joran.JoranConfigurator conf = new ch.qos.logback.classic.joran.JoranConfigurator();
            conf.setContext(ctx);
            try {
                conf.doConfigure(Main.class.getResource("/logback.xml"));
            } catch (ch.qos.logback.core.joran.spi.JoranException e) {
                throw new IllegalStateException("logging: " + e.getMessage(), e);
            }
        }
    }

    private static String owner() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "unknown";
        }
        return System.getProperty("user.name") + "@" + host + " pid " + ProcessHandle.current().pid();
    }
}
