package dev.pgplay.lab;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.model.Network;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.testcontainers.DockerClientFactory;

/**
 * A Docker network for lab hosts with an explicit /24 subnet. Docker assigns host addresses from
 * the lower half only (ip-range .0/25), so the upper half is free for virtual IPs.
 */
public final class LabNetwork implements AutoCloseable {
    static final String LABEL = "dev.pgplay.lab";

    private final String name;
    private final String prefix;

    private LabNetwork(String name, String prefix) {
        this.name = name;
        this.prefix = prefix;
    }

    /** Creates a network named {@code name} on the subnet {@code prefix}.0/24 (prefix like "10.213.7"). */
    public static LabNetwork create(String name, String prefix, String labelValue) {
        DockerClient docker = DockerClientFactory.instance().client();
        Network.Ipam ipam = new Network.Ipam().withConfig(new Network.Ipam.Config()
                .withSubnet(prefix + ".0/24").withIpRange(prefix + ".0/25").withGateway(prefix + ".1"));
        docker.createNetworkCmd().withName(name).withDriver("bridge").withIpam(ipam)
                .withLabels(Map.of(LABEL, labelValue)).exec();
        return new LabNetwork(name, prefix);
    }

    /** Creates a network on the first free subnet among 10.213.X.0/24, starting at a random X. */
    public static LabNetwork createOnFreeSubnet(String name) {
        int start = ThreadLocalRandom.current().nextInt(256);
        DockerException last = null;
        for (int i = 0; i < 256; i++) {
            String prefix = "10.213." + ((start + i) % 256);
            try {
                return create(name, prefix, "test");
            } catch (DockerException e) {
                last = e; // pool overlaps another network: try the next subnet
            }
        }
        throw new IllegalStateException("lab: no free subnet in 10.213.0.0/16 for network " + name, last);
    }

    /** An existing network by name (for {@code bin/lab down}); null when absent. */
    static LabNetwork existing(String name) {
        List<Network> found = DockerClientFactory.instance().client().listNetworksCmd().withNameFilter(name).exec();
        for (Network n : found) {
            if (n.getName().equals(name)) {
                String subnet = n.getIpam().getConfig().get(0).getSubnet();
                return new LabNetwork(name, subnet.substring(0, subnet.lastIndexOf('.')));
            }
        }
        return null;
    }

    public String name() {
        return name;
    }

    /** The address {@code prefix.n}, e.g. {@code address(30)} is .30 of the subnet. */
    public String address(int lastOctet) {
        if (lastOctet < 1 || lastOctet > 254) {
            throw new IllegalArgumentException("lab: host part must be 1..254, got " + lastOctet);
        }
        return prefix + "." + lastOctet;
    }

    /** The subnet as CIDR. */
    public String subnet() {
        return prefix + ".0/24";
    }

    /** A virtual IP no container gets: the upper half of the subnet is outside Docker's ip-range. */
    public String freeVip(int index) {
        return address(200 + index);
    }

    @Override
    public void close() {
        try {
            DockerClientFactory.instance().client().removeNetworkCmd(name).exec();
        } catch (DockerException e) {
            // already gone
        }
    }
}
