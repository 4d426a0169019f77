package dev.pgplay.inventory;

/**
 * The virtual IP clients use to reach the primary: its address and prefix, the interface it is
 * raised on, the method ({@code ip} or {@code ifconfig} with an alias label such as
 * {@code eth0:pgvip}) and the host expected to own it.
 */
public record Vip(String address, int prefix, String iface, String method, String label, String owner) {
}
