package dev.pgplay.core.run;

import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecResult;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A run lock on each target host ({@code /var/lib/pgplay/run.lock}, made with an atomic mkdir), so
 * a second run against the same hosts from any controller is refused with who holds it. A lock
 * left by a dead run is reported with its age and removed only when asked ({@code --break-lock}).
 */
public final class RunLock {
    static final String DIR = "/var/lib/pgplay/run.lock";

    private final String playbook;
    private final String owner;
    private final String runId;
    private final boolean breakLock;
    private final Set<String> held = ConcurrentHashMap.newKeySet();

    /** {@code owner} like user@controller; {@code runId} unique for this run. */
    public RunLock(String playbook, String owner, String runId, boolean breakLock) {
        this.playbook = playbook;
        this.owner = owner;
        this.runId = runId;
        this.breakLock = breakLock;
    }

    /** This controller's name, as the lock records it. */
    static String controller() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "unknown";
        }
    }

    /** This process as the lock records it: its pid and start time (a reused pid has another start time). */
    static String process(ProcessHandle p) {
        return p.pid() + "@" + p.info().startInstant().map(Instant::toString).orElse("?");
    }

    /**
     * The holder named in a lock's info is provably dead: it ran on this controller, and no process
     * with its pid and start time exists any more.
     */
    static boolean holderDead(String info, String thisController) {
        String host = field(info, "controller");
        String proc = field(info, "process");
        if (host.isEmpty() || proc.isEmpty() || !host.equals(thisController) || !proc.contains("@")) {
            return false;
        }
        long pid;
        try {
            pid = Long.parseLong(proc.substring(0, proc.indexOf('@')));
        } catch (NumberFormatException e) {
            return false;
        }
        return ProcessHandle.of(pid).map(p -> !process(p).equals(proc)).orElse(true);
    }

    static String field(String info, String key) {
        for (String line : info.split("\n")) {
            if (line.startsWith(key + "=")) {
                return line.substring(key.length() + 1).trim();
            }
        }
        return "";
    }

    Task acquire() {
        return Task.of("acquire run lock", ctx -> {
            String info = "owner=" + owner + "\nplaybook=" + playbook + "\nrun=" + runId + "\nstarted=" + Instant.now()
                    + "\ncontroller=" + controller() + "\nprocess=" + process(ProcessHandle.current()) + "\n";
            if (breakLock) {
                TaskResult refused = breakOld(ctx);
                if (refused != null) {
                    return refused;
                }
            }
            // mkdir is atomic: exactly one controller creates the directory
            Cmd take = Cmd.of("mkdir", "-p", "/var/lib/pgplay").and(Cmd.of("mkdir", "-m", "0755", DIR))
                    .and(Cmd.of("sh", "-c", "printf '%s' \"$1\" > " + DIR + "/info", "sh", info));
            ExecResult r = ctx.connection().sudo(take);
            if (r.ok()) {
                held.add(ctx.host().name());
                return TaskResult.ok("locked by " + owner);
            }
            ExecResult current = ctx.connection().exec(Cmd.of("cat", DIR + "/info"));
            if (!current.ok() && !ctx.connection().exec(Cmd.of("test", "-d", DIR)).ok()) {
                // no lock there: taking it failed for another reason (sudo, a read-only disk), say which
                return TaskResult.failed("cannot take the run lock " + DIR + ": " + (r.stderr() + " " + r.stdout()).strip());
            }
            if (current.ok() && holderDead(current.out(), controller())) {
                // its holder ran here and is gone (killed, crashed): take it over, saying so
                ctx.connection().sudo(Cmd.of("rm", "-rf", DIR)).check(ctx.host().name());
                if (ctx.connection().sudo(take).ok()) {
                    held.add(ctx.host().name());
                    String was = field(current.out(), "owner") + ", " + field(current.out(), "playbook") + ", started " + field(current.out(), "started");
                    ctx.progress("took over the run lock of a dead run (" + was + "): its process is gone from this controller");
                    return TaskResult.ok("locked by " + owner + " (took over the lock of a dead run: " + was + ")");
                }
            }
            ExecResult holder = ctx.connection().exec(Cmd.raw("cat " + DIR + "/info; echo; stat -c %Y " + DIR + "; date +%s"));
            String[] lines = holder.out().split("\n");
            String who = holder.out().replaceAll("\n\\d+\n\\d+$", "").strip().replace("\n", ", ");
            String age = "";
            if (lines.length >= 2) {
                try {
                    long seconds = Long.parseLong(lines[lines.length - 1].trim()) - Long.parseLong(lines[lines.length - 2].trim());
                    age = " for " + seconds / 60 + " min";
                } catch (NumberFormatException e) {
                    age = "";
                }
            }
            return TaskResult.failed("run lock held" + age + " (" + who + "); another run is working on this host. "
                    + "If that run is dead, re-run with --break-lock");
        });
    }

    /**
     * --break-lock: removes the lock of another run, but only the very lock that was read, and only
     * one breaker at a time (an atomic mkdir of run.lock.breaking), so two breakers cannot both end
     * up holding it; a holder that provably still runs on this controller is never broken.
     * Null when the way is free, else the refusal.
     */
    private TaskResult breakOld(HostContext ctx) {
        ExecResult old = ctx.connection().exec(Cmd.of("cat", DIR + "/info"));
        if (!old.ok() && !ctx.connection().exec(Cmd.of("test", "-d", DIR)).ok()) {
            return null; // no lock to break
        }
        // a lock without its info (its run died between mkdir and writing it) is broken as such
        String run = old.ok() ? field(old.out(), "run") : "";
        String host = field(old.out(), "controller");
        String proc = field(old.out(), "process");
        if (host.equals(controller()) && !proc.isEmpty() && !holderDead(old.out(), controller())) {
            return TaskResult.failed("--break-lock refused: the lock's holder still runs on this controller (" + field(old.out(), "owner")
                    + ", " + field(old.out(), "playbook") + ", process " + proc + "); stop it first");
        }
        String script = "mkdir \"$1.breaking\" 2>/dev/null || { echo 'another run is breaking this lock right now' >&2; exit 3; }\n"
                + "if { [ -n \"$2\" ] && grep -qx \"run=$2\" \"$1/info\" 2>/dev/null; } || { [ -z \"$2\" ] && [ ! -s \"$1/info\" ]; }; then\n"
                + "  rm -rf \"$1\"; rc=0\nelse echo 'the lock changed hands since it was read' >&2; rc=4; fi\n"
                + "rmdir \"$1.breaking\"; exit $rc";
        ExecResult broke = ctx.connection().sudo(Cmd.of("sh", "-c", script, "sh", DIR, run));
        if (!broke.ok()) {
            return TaskResult.failed("--break-lock refused: " + broke.stderr().strip() + " (" + old.out().replace("\n", ", ") + ")");
        }
        ctx.progress("removed the lock of " + (old.ok() ? old.out().replace("\n", ", ") : "a run that left no info"));
        return null;
    }

    Task release() {
        return Task.of("release run lock", ctx -> {
            if (!held.remove(ctx.host().name())) {
                return TaskResult.skipped("not held by this run");
            }
            ExecResult r = ctx.connection().sudo(Cmd.raw("grep -qx " + Cmd.quote("run=" + runId) + " " + DIR + "/info && rm -rf " + DIR));
            return r.ok() ? TaskResult.ok("released") : TaskResult.failed("lock no longer ours; left in place");
        });
    }

    boolean holds(String host) {
        return held.contains(host);
    }
}
