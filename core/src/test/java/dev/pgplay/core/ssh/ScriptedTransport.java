package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A {@link Transport} for fast unit tests of the runner and of operations: no network, commands
 * answered by scripted rules (first match wins, else exit 0 with no output), every call recorded
 * with its host, become user and timing. What SSH and PostgreSQL really do is proven on the lab,
 * never here.
 */
public final class ScriptedTransport implements Transport {
    /** One command as the fake saw it. */
    public record Call(String host, String command, Optional<String> becomeUser, String stdin, long startNanos, long endNanos) {
    }

    private record Rule(Predicate<String> host, Predicate<String> command, int exit, String out, String err, Duration delay) {
    }

    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final List<String> connects = new CopyOnWriteArrayList<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger mostAtOnce = new AtomicInteger();
    private volatile boolean closed;

    /** Commands containing {@code part} (on any host) exit {@code exit} with this output. */
    public ScriptedTransport reply(String part, int exit, String out) {
        return reply(h -> true, part, exit, out, Duration.ZERO);
    }

    /** Commands containing {@code part} on {@code host} exit {@code exit} with this output. */
    public ScriptedTransport reply(String host, String part, int exit, String out) {
        return reply(host::equals, part, exit, out, Duration.ZERO);
    }

    /** Commands containing {@code part} take {@code delay}, then exit 0. */
    public ScriptedTransport slow(String part, Duration delay) {
        return reply(h -> true, part, 0, "", delay);
    }

    private ScriptedTransport reply(Predicate<String> host, String part, int exit, String out, Duration delay) {
        rules.add(new Rule(host, c -> c.contains(part), exit, out, exit == 0 ? "" : "scripted failure of `" + part + "`", delay));
        return this;
    }

    /** The host cannot be connected to. */
    public ScriptedTransport unreachable(String host) {
        unreachable.add(host);
        return this;
    }

    public List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The commands run on one host, in order. */
    public List<String> commands(String host) {
        return calls.stream().filter(c -> c.host().equals(host)).map(Call::command).toList();
    }

    /** Hosts in the order they were first connected to (a host may appear once). */
    public List<String> connects() {
        return List.copyOf(connects);
    }

    /** The most commands that ran at the same moment. */
    public int mostAtOnce() {
        return mostAtOnce.get();
    }

    public boolean closed() {
        return closed;
    }

    @Override
    public Connection connect(Host host) {
        if (unreachable.contains(host.name())) {
            throw new UnreachableException(host.name() + ": cannot connect (scripted)", null);
        }
        if (!connects.contains(host.name())) {
            connects.add(host.name());
        }
        return new Fake(host);
    }

    @Override
    public void close() {
        closed = true;
    }

    private final class Fake implements Connection {
        private final Host host;

        Fake(Host host) {
            this.host = host;
        }

        @Override
        public Host host() {
            return host;
        }

        @Override
        public ExecResult exec(Cmd cmd, ExecOptions options) {
            String line = cmd.toString();
            long start = System.nanoTime();
            mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                Rule rule = rules.stream().filter(r -> r.host().test(host.name()) && r.command().test(line)).findFirst()
                        .orElse(new Rule(h -> true, c -> true, 0, "", "", Duration.ZERO));
                if (!rule.delay().isZero()) {
                    try {
                        Thread.sleep(rule.delay().toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (rule.out() != null && options.onLine() != null) {
                    rule.out().lines().forEach(options.onLine());
                }
                return new ExecResult(line, rule.exit(), rule.out(), rule.err(), Duration.ofNanos(System.nanoTime() - start));
            } finally {
                running.decrementAndGet();
                calls.add(new Call(host.name(), line, options.becomeUser(),
                        options.stdin() == null ? "" : new String(options.stdin(), java.nio.charset.StandardCharsets.UTF_8),
                        start, System.nanoTime()));
            }
        }

        @Override
        public Interactive interactive(Cmd cmd, ExecOptions options) {
            throw new UnsupportedOperationException("scripted transport: interactive sessions are proven on the lab");
        }

        @Override
        public void upload(byte[] content, String path, String mode, String owner) {
            exec(Cmd.of("upload", path, mode, owner), ExecOptions.as("root").stdin(content));
        }

        @Override
        public Tunnel forward(String remoteHost, int remotePort) {
            throw new UnsupportedOperationException("scripted transport: tunnels are proven on the lab");
        }
    }

}
