package dev.pgplay.lab;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.testcontainers.DockerClientFactory;

/**
 * {@code bin/lab up|down|status}: two bare lab hosts db1 (.10) and db2 (.20) on a fixed subnet
 * (default 10.210.30.0/24, VIP .30), their key and known_hosts written to {@code .lab/} where the
 * root hosts.conf expects them. The hosts keep running after this program exits.
 */
public final class LabMain {
    static final String NETWORK = "pgplay-lab";
    static final String USER_LABEL = "user";
    static final Map<String, Integer> HOSTS = Map.of("db1", 10, "db2", 20);

    private LabMain() {
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        String command = args.length == 0 ? "help" : args[0];
        String prefix = System.getenv().getOrDefault("LAB_SUBNET_PREFIX", "10.210.30");
        Path dir = LabImage.repoRoot().resolve(".lab");
        int code;
        try {
            code = switch (command) {
                case "up" -> up(prefix, dir, out);
                case "down" -> down(out);
                case "status" -> status(out);
                default -> {
                    out.println("usage: bin/lab up|down|status   (LAB_SUBNET_PREFIX=10.210.30 sets the /24 used)");
                    yield "help".equals(command) || "--help".equals(command) ? 0 : 1;
                }
            };
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            code = 1;
        }
        System.exit(code);
    }

    static int up(String prefix, Path dir, PrintStream out) {
        LabImage.ensure();
        DockerClient docker = DockerClientFactory.instance().client();
        if (!userContainers(docker).isEmpty()) {
            out.println("lab: already up (bin/lab down removes it)");
            return status(out);
        }
        LabNetwork network = LabNetwork.existing(NETWORK);
        if (network == null) {
            network = LabNetwork.create(NETWORK, prefix, USER_LABEL);
        }
        Path keyFile = dir.resolve("id_ed25519");
        LabKeys keys = LabKeys.generate(keyFile);
        List<String> knownHosts = new ArrayList<>();
        for (String name : List.of("db1", "db2")) {
            String address = network.address(HOSTS.get(name));
            var cmd = docker.createContainerCmd(LabImage.NAME).withName("pgplay-" + name);
            new LabHostSpec(name, network, address, keys.authorizedKey(), USER_LABEL).applyTo(cmd);
            String id = cmd.exec().getId();
            docker.startContainerCmd(id).exec();
            waitReady(docker, id, name);
            for (String key : KnownHostsFile.parse(execCat(docker, id))) {
                knownHosts.add(address + " " + key);
            }
            out.printf("lab: %s up at %s%n", name, address);
        }
        try {
            Files.write(dir.resolve("known_hosts"), knownHosts);
            writeSecret(dir.resolve("replication-password"));
        } catch (IOException e) {
            throw new IllegalStateException("lab: cannot write " + dir.resolve("known_hosts") + ": " + e.getMessage(), e);
        }
        out.printf("lab: VIP %s is free; key %s, known_hosts %s%n", network.address(30), keyFile, dir.resolve("known_hosts"));
        out.println("lab: try  bin/playbook cluster-setup hosts.conf");
        return 0;
    }

    static int down(PrintStream out) {
        DockerClient docker = DockerClientFactory.instance().client();
        for (Container c : userContainers(docker)) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
            out.println("lab: removed " + String.join(",", c.getNames()));
        }
        LabNetwork network = LabNetwork.existing(NETWORK);
        if (network != null) {
            network.close();
            out.println("lab: removed network " + NETWORK);
        }
        return 0;
    }

    static int status(PrintStream out) {
        DockerClient docker = DockerClientFactory.instance().client();
        List<Container> containers = userContainers(docker);
        if (containers.isEmpty()) {
            out.println("lab: down");
            return 3;
        }
        for (Container c : containers) {
            String ip = c.getNetworkSettings() == null ? "?" : c.getNetworkSettings().getNetworks().values().stream()
                    .map(n -> n.getIpAddress()).findFirst().orElse("?");
            out.printf("lab: %s %s %s%n", String.join(",", c.getNames()), ip, c.getState());
        }
        return 0;
    }

    /** A random replication password for the lab (mode 0600), kept across lab restarts. */
    static void writeSecret(Path file) throws IOException {
        if (Files.exists(file)) {
            return;
        }
        byte[] random = new byte[18];
        new java.security.SecureRandom().nextBytes(random);
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random) + "\n");
    }

    private static List<Container> userContainers(DockerClient docker) {
        return docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LabNetwork.LABEL, USER_LABEL)).exec();
    }

    private static void waitReady(DockerClient docker, String id, String name) {
        SystemdRunning.await(docker, id, "pgplay-" + name, LabHostSpec.BOOT_TIMEOUT);
    }

    private static String execCat(DockerClient docker, String id) {
        return SystemdRunning.exec(docker, id, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub");
    }
}
