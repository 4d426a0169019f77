package dev.pgplay.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.testcontainers.containers.GenericContainer;

/**
 * A set of real lab hosts on their own Docker network, reachable from the controller by address:
 * sshd with a key generated for the run, a known_hosts file holding their host keys, and a free
 * virtual IP. Build with {@link #builder()}, close to remove everything.
 */
public final class Lab implements AutoCloseable {
    private final LabNetwork network;
    private final LabNetwork innerNetwork;
    private final LabKeys keys;
    private final Path dir;
    private final Path knownHosts;
    private final Map<String, LabHost> hosts;

    private Lab(LabNetwork network, LabNetwork innerNetwork, LabKeys keys, Path dir, Path knownHosts, Map<String, LabHost> hosts) {
        this.network = network;
        this.innerNetwork = innerNetwork;
        this.keys = keys;
        this.dir = dir;
        this.knownHosts = knownHosts;
        this.hosts = Collections.unmodifiableMap(hosts);
    }

    public static Builder builder() {
        return new Builder();
    }

    public LabHost host(String name) {
        LabHost host = hosts.get(name);
        if (host == null) {
            throw new IllegalArgumentException("lab: no host " + name + " (hosts: " + hosts.keySet() + ")");
        }
        return host;
    }

    public List<LabHost> hosts() {
        return List.copyOf(hosts.values());
    }

    public LabNetwork network() {
        return network;
    }

    /** The run's private key (OpenSSH format, mode 0600). */
    public Path privateKey() {
        return keys.privateKeyFile();
    }

    public LabKeys keys() {
        return keys;
    }

    /** A known_hosts file with every host key of every lab host. */
    public Path knownHosts() {
        return knownHosts;
    }

    /** A folder for this run's files (keys, known_hosts, inventories written by tests). */
    public Path dir() {
        return dir;
    }

    /** A virtual IP on the lab network that no host owns. */
    public String freeVip() {
        return network.freeVip(0);
    }

    /**
     * Writes an inventory for these hosts (key, known_hosts, addresses) plus {@code extra} HOCON
     * text (groups, roles, vars, overrides) and returns its path.
     */
    public Path writeInventory(String fileName, String extra) {
        StringBuilder sb = new StringBuilder();
        sb.append("defaults {\n  user = ").append(user()).append("\n  identity-file = \"").append(privateKey())
                .append("\"\n  known-hosts = \"").append(knownHosts()).append("\"\n  connect-timeout = 5s\n}\nhosts {\n");
        for (LabHost h : hosts.values()) {
            sb.append("  ").append(h.name()).append(" { address = \"").append(h.address()).append("\" }\n");
        }
        sb.append("}\n").append(extra == null ? "" : extra).append('\n');
        Path file = dir.resolve(fileName);
        try {
            Files.writeString(file, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("lab: cannot write " + file, e);
        }
        return file;
    }

    /** The login user with passwordless sudo on every lab host. */
    public String user() {
        return "admin";
    }

    @Override
    public void close() {
        hosts.values().forEach(LabHost::stop);
        network.close();
        if (innerNetwork != null) {
            innerNetwork.close();
        }
    }

    /** Fluent builder: {@code Lab.builder().hosts("db1", "db2").start()}. */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final Map<String, String> behind = new LinkedHashMap<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private boolean systemd = true;

        /**
         * Hosts boot without an init system (sshd and the clusters started by a plain script), as
         * container-based hosts do: package scripts cannot start services there.
         */
        public Builder withoutSystemd() {
            systemd = false;
            return this;
        }

        /** Hosts boot with their PostgreSQL clusters down (many hosts for engine benchmarks). */
        public Builder withoutPostgres() {
            env.put("LAB_POSTGRES", "off");
            return this;
        }

        /**
         * Adds {@code inner}, a host on a second network that only {@code jump} (also in this lab)
         * reaches: the controller's packets to it go unanswered, so SSH needs ProxyJump.
         */
        public Builder behind(String jump, String inner) {
            behind.put(inner, jump);
            names.add(inner);
            return this;
        }

        public Builder hosts(String... hostNames) {
            names.addAll(List.of(hostNames));
            return this;
        }

        public Builder hosts(int count) {
            for (int i = 1; i <= count; i++) {
                names.add("host" + i);
            }
            return this;
        }

        public Lab start() {
            if (names.isEmpty()) {
                throw new IllegalStateException("lab: no hosts requested");
            }
            LabImage.ensure();
            String run = UUID.randomUUID().toString().substring(0, 8);
            Path dir;
            try {
                dir = Files.createTempDirectory("pgplay-lab-" + run + "-");
            } catch (IOException e) {
                throw new UncheckedIOException("lab: cannot create a run folder", e);
            }
            LabKeys keys = LabKeys.generate(dir.resolve("id_ed25519"));
            LabNetwork network = LabNetwork.createOnFreeSubnet("pgplay-lab-" + run);
            LabNetwork inner = behind.isEmpty() ? null : LabNetwork.createOnFreeSubnet("pgplay-lab-" + run + "-inner");
            Map<String, LabHost> started = new LinkedHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(names.size(), 8));
            try {
                List<Future<LabHost>> futures = new ArrayList<>();
                for (int i = 0; i < names.size(); i++) {
                    String name = names.get(i);
                    LabNetwork net = behind.containsKey(name) ? inner : network;
                    // fixed addresses: a host keeps its address across a reboot (docker restart)
                    String address = net.address(10 + i);
                    boolean init = systemd;
                    futures.add(pool.submit(() -> startHost(name, net, address, keys, env, init)));
                }
                for (Future<LabHost> f : futures) {
                    LabHost host = f.get();
                    started.put(host.name(), host);
                }
                for (Map.Entry<String, String> e : behind.entrySet()) {
                    LabHost jump = started.get(e.getValue());
                    if (jump == null) {
                        throw new IllegalStateException("lab: jump host " + e.getValue() + " is not in this lab");
                    }
                    org.testcontainers.DockerClientFactory.instance().client().connectToNetworkCmd()
                            .withContainerId(jump.containerId()).withNetworkId(inner.name()).exec();
                    // the controller is the inner network's gateway: drop what the inner host sends it
                    started.get(e.getKey()).docker("ip", "route", "add", "blackhole", inner.address(1) + "/32");
                }
                Path knownHosts = dir.resolve("known_hosts");
                KnownHostsFile.write(knownHosts, started.values());
                return new Lab(network, inner, keys, dir, knownHosts, started);
            } catch (Exception e) {
                started.values().forEach(LabHost::stop);
                network.close();
                if (inner != null) {
                    inner.close();
                }
                throw new IllegalStateException("lab: could not start hosts " + names + ": " + e.getMessage(), e);
            } finally {
                pool.shutdownNow();
            }
        }

        private static LabHost startHost(String name, LabNetwork network, String address, LabKeys keys, Map<String, String> env,
                boolean systemd) {
            GenericContainer<?> container = new LabHostSpec(name, network, address, keys.authorizedKey(), "test", env, systemd).testContainer();
            container.start();
            return new LabHost(name, address, container, KnownHostsFile.readHostKeys(container));
        }
    }
}
