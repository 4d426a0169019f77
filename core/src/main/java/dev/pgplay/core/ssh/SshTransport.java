package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.client.config.hosts.HostConfigEntry;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.core.CoreModuleProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SSH client for a run and one pooled session per host, reused by every task. Close it to
 * end every session and tunnel. Thread-safe: tasks on different hosts connect in parallel.
 */
public final class SshTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(SshTransport.class);

    private final SshClient client;
    private final HostKeys hostKeys = new HostKeys();
    private final Map<String, SshConnection> connections = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    private final SshConfig sshConfig;

    /**
     * A transport that reads ~/.ssh/config for what the inventory leaves unset and offers the keys
     * of the ssh-agent at SSH_AUTH_SOCK, when one runs.
     */
    public SshTransport() {
        this(Path.of(System.getProperty("user.home"), ".ssh", "config"),
                System.getenv("SSH_AUTH_SOCK") == null ? null : Path.of(System.getenv("SSH_AUTH_SOCK")));
    }

    /** A transport with this OpenSSH client config file (null: none) and no agent. */
    public SshTransport(Path sshConfigFile) {
        this(sshConfigFile, null);
    }

    /** A transport with this OpenSSH client config file and ssh-agent socket (either null: none). */
    public SshTransport(Path sshConfigFile, Path agentSocket) {
        sshConfig = SshConfig.load(sshConfigFile);
        client = SshClient.setUpDefaultClient();
        if (agentSocket != null && java.nio.file.Files.exists(agentSocket)) {
            client.setAgentFactory(UnixAgent.factory(agentSocket));
        }
        // small commands wait on Nagle otherwise: 100 commands ~5 s without, ~0.6 s with
        CoreModuleProperties.TCP_NODELAY.set(client, true);
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, Duration.ofSeconds(15));
        CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, 4);
        client.setServerKeyVerifier(hostKeys);
        // a port forwarded back (Connection.back) may only reach the controller's loopback
        client.setForwardingFilter(org.apache.sshd.server.forward.ForwardingFilter.asForwardingFilter(
                org.apache.sshd.server.forward.RejectAllForwardingFilter.INSTANCE, org.apache.sshd.server.forward.RejectAllForwardingFilter.INSTANCE,
                new org.apache.sshd.server.forward.TcpForwardingFilter() {
                    @Override
                    public boolean canListen(SshdSocketAddress address, org.apache.sshd.common.session.Session session) {
                        return SshdSocketAddress.isLoopback(address.getHostName());
                    }

                    @Override
                    public boolean canConnect(Type type, SshdSocketAddress address, org.apache.sshd.common.session.Session session) {
                        return type == Type.Forwarded && SshdSocketAddress.isLoopback(address.getHostName());
                    }
                }));
        // identities by the host being connected to; a ProxyJump session carries the same host
        client.setKeyIdentityProvider(session -> {
            Host host = HostKeys.hostOf((ClientSession) session);
            if (host == null || host.identityFiles().isEmpty()) {
                return java.util.List.of();
            }
            FileKeyPairProvider keys = new FileKeyPairProvider(host.identityFiles());
            keys.setPasswordFinder(host.identityPassphrase().map(p -> FilePasswordProvider.of(p.reveal())).orElse(FilePasswordProvider.EMPTY));
            return keys.loadKeys(session);
        });
        // a password, when the inventory gives one, is tried after the keys
        client.setPasswordIdentityProvider(session -> {
            Host host = HostKeys.hostOf((ClientSession) session);
            return host == null || host.password().isEmpty() ? java.util.List.of() : java.util.List.of(host.password().get().reveal());
        });
        client.start();
    }

    @Override
    public Connection connect(Host host) {
        return connect(host, 0);
    }

    @Override
    public Connection connect(Host host, int lane) {
        if (lane < 0) {
            throw new IllegalArgumentException("lane " + lane);
        }
        String key = lane == 0 ? host.name() : host.name() + "#" + lane;
        SshConnection existing = connections.get(key);
        if (existing != null && existing.isOpen()) {
            return existing;
        }
        synchronized (locks.computeIfAbsent(key, k -> new Object())) {
            existing = connections.get(key);
            if (existing != null && existing.isOpen()) {
                return existing;
            }
            SshConnection c = open(host);
            connections.put(key, c);
            return c;
        }
    }

    private SshConnection open(Host inventoryHost) {
        Host host = sshConfig.apply(inventoryHost);
        long start = System.nanoTime();
        ClientSession session = null;
        try {
            HostConfigEntry entry = new HostConfigEntry("", host.address(), host.port(), host.user(), host.proxyJump().orElse(null));
            session = client.connect(entry, AttributeRepository.ofKeyValuePair(HostKeys.HOST, host), null)
                    .verify(host.connectTimeout()).getSession();
            session.auth().verify(host.connectTimeout());
            LOG.debug("{}: connected to {}@{}:{} in {} ms", host.name(), host.user(), host.address(), host.port(),
                    (System.nanoTime() - start) / 1_000_000);
            return new SshConnection(host, session);
        } catch (IOException | RuntimeException e) {
            if (session != null) {
                session.close(true);
            }
            throw new UnreachableException(host.name() + ": " + reason(host, e), e);
        }
    }

    private String reason(Host host, Exception e) {
        String refusal = hostKeys.refusal(host);
        if (refusal != null) {
            return refusal;
        }
        String msg = String.valueOf(e.getMessage());
        String where = host.user() + "@" + host.address() + ":" + host.port();
        if (msg.contains("No more authentication methods") || msg.contains("authentication")) {
            return "authentication failed for " + where + " (identity files " + host.identityFiles() + ")";
        }
        if (msg.contains("timeout") || msg.contains("timed out") || e instanceof org.apache.sshd.common.SshException && msg.contains("Failed to get operation result")) {
            return "cannot connect to " + where + ": timed out after " + host.connectTimeout().toSeconds() + " s";
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return "cannot connect to " + where + ": " + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
    }

    /** Closes one host's connections, every lane (e.g. before it reboots); the next {@link #connect} opens a new one. */
    public void disconnect(Host host) {
        List<String> keys = connections.keySet().stream().filter(k -> k.equals(host.name()) || k.startsWith(host.name() + "#")).toList();
        for (String k : keys) {
            SshConnection c = connections.remove(k);
            if (c != null) {
                c.close();
            }
        }
    }

    @Override
    public void close() {
        List<SshConnection> all = new ArrayList<>(connections.values());
        connections.clear();
        all.forEach(SshConnection::close);
        client.stop();
    }
}
