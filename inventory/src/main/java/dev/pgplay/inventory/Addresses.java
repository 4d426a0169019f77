package dev.pgplay.inventory;

import java.util.regex.Pattern;

/** What an inventory address may be: a DNS host name, an IPv4 address or an IPv6 literal. */
final class Addresses {
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");

    private Addresses() {
    }

    /**
     * Whether {@code address} is a host name (letters, digits and inner hyphens per label, 253
     * characters at most), an IPv4 address or an IPv6 address. Anything else (spaces, quotes,
     * newlines, a leading hyphen, {@code key=value}) would reach pg_hba.conf, primary_conninfo and
     * command lines as something else than an address.
     */
    static boolean valid(String address) {
        if (address.isEmpty() || address.length() > 253) {
            return false;
        }
        if (address.matches("[0-9.]+")) {
            return IPV4.matcher(address).matches();
        }
        if (address.indexOf(':') >= 0) {
            return IPV6_CHARS.matcher(address).matches() && ipv6(address);
        }
        for (String label : address.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    private static boolean ipv6(String address) {
        try {
            return java.net.InetAddress.getByName(address) instanceof java.net.Inet6Address; // a literal: no name look-up
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
