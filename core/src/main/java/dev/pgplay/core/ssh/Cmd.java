package dev.pgplay.core.ssh;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A remote command built from separate arguments, each quoted for the remote POSIX shell, so a
 * value like {@code x'; touch /tmp/pwned; echo '} arrives as one literal argument. Combine with
 * {@link #and}, {@link #pipe} and {@link #or}; never paste untrusted text into {@link #raw}.
 */
public final class Cmd {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private final String line;
    private final List<String> argv;
    private final Map<String, String> env;
    private final String display;

    private Cmd(String line, List<String> argv, Map<String, String> env, String display) {
        this.line = line;
        this.argv = argv;
        this.env = env;
        this.display = display;
    }

    /** A command from its program and arguments. */
    public static Cmd of(String program, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(program);
        Collections.addAll(argv, args);
        return of(argv);
    }

    public static Cmd of(List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("command: no program");
        }
        StringBuilder sb = new StringBuilder();
        for (String a : argv) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(quote(a));
        }
        return new Cmd(sb.toString(), List.copyOf(argv), Map.of(), null);
    }

    /** A shell line written by the programmer (a constant): no untrusted text may be part of it. */
    public static Cmd raw(String shellLine) {
        return new Cmd(shellLine, List.of(), Map.of(), null);
    }

    /** Quotes one argument for a POSIX shell. */
    public static String quote(String arg) {
        if (arg.isEmpty()) {
            return "''";
        }
        if (SAFE.matcher(arg).matches()) {
            return arg;
        }
        return "'" + arg.replace("'", "'\"'\"'") + "'";
    }

    /** Sets an environment variable for this command ({@code env K=V cmd}). */
    public Cmd env(String name, String value) {
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("command: bad environment variable name " + name);
        }
        Map<String, String> e = new LinkedHashMap<>(env);
        e.put(name, value);
        return new Cmd(line, argv, Map.copyOf(e), display);
    }

    /** Runs {@code next} only when this succeeds. */
    public Cmd and(Cmd next) {
        return raw("{ " + shellLine() + "; } && { " + next.shellLine() + "; }");
    }

    /** Runs {@code other} at the same time as this (in a subshell); succeeds when both do. */
    public Cmd alongside(Cmd other) {
        return raw("( { " + shellLine() + "; } & pgplay_pid=$!; { " + other.shellLine() + "; }; pgplay_rc=$?; wait \"$pgplay_pid\" && [ \"$pgplay_rc\" -eq 0 ] )");
    }

    /** Runs {@code next} only when this fails. */
    public Cmd or(Cmd next) {
        return raw("{ " + shellLine() + "; } || { " + next.shellLine() + "; }");
    }

    /** Pipes this command's output into {@code next}. */
    public Cmd pipe(Cmd next) {
        return raw("{ " + shellLine() + "; } | { " + next.shellLine() + "; }");
    }

    /** Shown in logs and events instead of the real line (e.g. to hide a secret argument). */
    public Cmd displayedAs(String text) {
        return new Cmd(line, argv, env, text);
    }

    /** The line as the remote shell receives it. */
    public String shellLine() {
        if (env.isEmpty()) {
            return line;
        }
        StringBuilder sb = new StringBuilder("env");
        env.forEach((k, v) -> sb.append(' ').append(quote(k + "=" + v)));
        return sb.append(' ').append(line).toString();
    }

    /** The arguments this command was built from (empty for raw and combined commands). */
    public List<String> argv() {
        return argv;
    }

    @Override
    public String toString() {
        return display != null ? display : shellLine();
    }
}
