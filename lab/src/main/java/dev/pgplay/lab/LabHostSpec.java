package dev.pgplay.lab;

import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Volume;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The one definition of a lab host container, shared by the JUnit extension (through
 * Testcontainers) and by {@code bin/lab} (plain Docker, so the hosts outlive the JVM): the lab
 * image, NET_ADMIN (a VIP can move), {@code net.ipv4.ip_forward=0} (Docker's default of 1 lets the
 * old host forward VIP traffic and hides a missing gratuitous ARP), the controller's public key, and
 * what systemd needs as PID 1 without --privileged: tmpfs on /run and /run/lock and the host's
 * cgroup tree (read-only on cgroup v1; on cgroup v2 the host's cgroup namespace, writable).
 */
final class LabHostSpec {
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(90);
    static final String PLAIN_INIT = "/usr/local/sbin/lab-init-plain";

    private final String hostname;
    private final LabNetwork network;
    private final String ipv4;
    private final String authorizedKey;
    private final String labelValue;
    private final Map<String, String> env;
    private final boolean systemd;

    LabHostSpec(String hostname, LabNetwork network, String ipv4, String authorizedKey, String labelValue) {
        this(hostname, network, ipv4, authorizedKey, labelValue, Map.of());
    }

    LabHostSpec(String hostname, LabNetwork network, String ipv4, String authorizedKey, String labelValue, Map<String, String> env) {
        this(hostname, network, ipv4, authorizedKey, labelValue, env, true);
    }

    /** {@code systemd} false: the host boots without an init system ({@code lab-init-plain}). */
    LabHostSpec(String hostname, LabNetwork network, String ipv4, String authorizedKey, String labelValue, Map<String, String> env,
            boolean systemd) {
        this.systemd = systemd;
        this.env = Map.copyOf(env);
        this.hostname = hostname;
        this.network = network;
        this.ipv4 = ipv4;
        this.authorizedKey = authorizedKey;
        this.labelValue = labelValue;
    }

    /** Applies the definition to a container-create command (image and name are set by the caller). */
    void applyTo(CreateContainerCmd cmd) {
        cmd.withHostName(hostname);
        if (!systemd) {
            cmd.withCmd(PLAIN_INIT);
        }
        cmd.withNetworkMode(network.name());
        if (ipv4 != null) {
            cmd.withIpv4Address(ipv4);
        }
        List<String> vars = new ArrayList<>(cmd.getEnv() == null ? List.of() : List.of(cmd.getEnv()));
        vars.add("LAB_AUTHORIZED_KEY=" + authorizedKey);
        env.forEach((k, v) -> vars.add(k + "=" + v));
        cmd.withEnv(vars);
        Map<String, String> labels = new HashMap<>(cmd.getLabels() == null ? Map.of() : cmd.getLabels());
        labels.put(LabNetwork.LABEL, labelValue);
        cmd.withLabels(labels);
        boolean v2 = "2".equals(DockerClientFactory.instance().client().infoCmd().exec().getRawValues().get("CgroupVersion"));
        cmd.getHostConfig()
                .withNetworkMode(network.name())
                .withCapAdd(Capability.NET_ADMIN)
                .withSysctls(Map.of("net.ipv4.ip_forward", "0"))
                .withTmpFs(Map.of("/run", "rw,exec", "/run/lock", "rw"))
                .withBinds(new Bind("/sys/fs/cgroup", new Volume("/sys/fs/cgroup"), v2 ? AccessMode.rw : AccessMode.ro));
        if (v2) {
            cmd.getHostConfig().withCgroupnsMode("host");
        }
    }

    /** The definition as a Testcontainers container (removed with the test run). */
    @SuppressWarnings("resource")
    GenericContainer<?> testContainer() {
        return new GenericContainer<>(DockerImageName.parse(LabImage.NAME))
                .withImagePullPolicy(image -> false)
                .withCreateContainerCmdModifier(this::applyTo)
                .waitingFor(systemd ? new SystemdRunning(BOOT_TIMEOUT)
                        : Wait.forLogMessage(".*lab-init-plain: ready.*\\n", 1).withStartupTimeout(BOOT_TIMEOUT));
    }
}
