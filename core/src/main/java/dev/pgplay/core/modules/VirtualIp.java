package dev.pgplay.core.modules;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.inventory.Vip;
import java.util.List;

/**
 * The virtual IP raised on or removed from a host, with {@code ip addr} (default) or an
 * {@code ifconfig} alias such as eth0:pgvip (seed style). Raising it sends gratuitous ARP
 * ({@code arping -U}) so neighbours switch at once instead of after their ARP cache expires.
 */
public final class VirtualIp implements Operation {
    private final Vip vip;
    private final boolean present;

    private VirtualIp(Vip vip, boolean present) {
        this.vip = vip;
        this.present = present;
    }

    public static VirtualIp present(Vip vip) {
        return new VirtualIp(vip, true);
    }

    public static VirtualIp absent(Vip vip) {
        return new VirtualIp(vip, false);
    }

    /** Whether the host currently holds the VIP on any interface. */
    public static Fact<Boolean> held(Vip vip) {
        return Fact.of("vip_held:" + vip.address(), Cmd.of("ip", "-o", "-4", "addr", "show"),
                r -> List.of(r.stdout().split("\n")).stream().anyMatch(l -> l.contains(" " + vip.address() + "/")), false);
    }

    @Override
    public Plan plan(HostContext ctx) {
        boolean held = ctx.fact(held(vip));
        if (held == present) {
            return Plan.nothing("VIP " + vip.address() + (present ? " is up" : " is not here"));
        }
        String cidr = vip.address() + "/" + vip.prefix();
        if (present) {
            Cmd raise = "ifconfig".equals(vip.method())
                    ? Cmd.of("ifconfig", vip.label(), vip.address(), "netmask", netmask(vip.prefix()), "up")
                    : Cmd.of("ip", "addr", "add", cidr, "dev", vip.iface(), "label", vip.label());
            // two unsolicited ARPs in the same round trip: the first leaves at once; arping's second,
            // a second later, goes on in the background so the step returns as soon as the address is up
            Cmd announce = Cmd.of("sh", "-c", "command -v arping >/dev/null || { echo 'arping is missing (iputils-arping)' >&2; exit 1; }; "
                    + "arping -q -U -c 2 -w 1 -I \"$1\" \"$2\" </dev/null >/dev/null 2>&1 &", "sh", vip.iface(), vip.address());
            return Plan.of("raise VIP " + vip.address() + " on " + vip.iface() + " with gratuitous ARP",
                    Step.asRoot(raise.and(announce)));
        }
        Cmd drop = "ifconfig".equals(vip.method())
                ? Cmd.of("ifconfig", vip.label(), "down")
                : Cmd.of("ip", "addr", "del", cidr, "dev", vip.iface());
        return Plan.of("remove VIP " + vip.address() + " from " + vip.iface(), Step.asRoot(drop));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(held(vip));
    }

    static String netmask(int prefix) {
        long mask = prefix == 0 ? 0 : 0xFFFFFFFFL << (32 - prefix) & 0xFFFFFFFFL;
        return ((mask >> 24) & 255) + "." + ((mask >> 16) & 255) + "." + ((mask >> 8) & 255) + "." + (mask & 255);
    }
}
