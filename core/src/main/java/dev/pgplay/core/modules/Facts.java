package dev.pgplay.core.modules;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.ssh.Cmd;
import java.util.LinkedHashMap;
import java.util.Map;

/** Facts every playbook uses: OS, package manager, init system, installed packages. */
public final class Facts {
    private Facts() {
    }

    /** /etc/os-release as a map (ID, VERSION_ID, PRETTY_NAME, ...). */
    public static final Fact<Map<String, String>> OS = Fact.of("os", Cmd.of("cat", "/etc/os-release"), r -> {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : r.stdout().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1).replaceAll("^\"|\"$", ""));
            }
        }
        return out;
    }, Map.of());

    /** apt, dnf or yum: the first package manager found. */
    public static final Fact<String> PACKAGE_MANAGER = Fact.of("package_manager",
            Cmd.raw("for p in apt-get dnf yum; do command -v $p >/dev/null 2>&1 && { echo $p; exit 0; }; done; exit 1"),
            r -> r.out().equals("apt-get") ? "apt" : r.out(), "unknown");

    /** systemd when it is PID 1 (systemctl works), otherwise none. */
    public static final Fact<String> INIT = dev.pgplay.core.run.Detached.INIT;

    /** Installed version of a package, empty when not installed. */
    public static Fact<String> installedVersion(String pkg) {
        return Fact.of("pkg_version:" + pkg, Cmd.of("dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", pkg),
                r -> r.out().startsWith("ii") ? r.out().substring(r.out().indexOf(' ') + 1).trim() : "", "");
    }

    /** The version apt would install for a package (its candidate), empty when none. */
    public static Fact<String> candidateVersion(String pkg) {
        return Fact.of("pkg_candidate:" + pkg, Cmd.of("apt-cache", "policy", pkg), r -> {
            for (String line : r.stdout().split("\n")) {
                String t = line.trim();
                if (t.startsWith("Candidate:")) {
                    String v = t.substring("Candidate:".length()).trim();
                    return "(none)".equals(v) ? "" : v;
                }
            }
            return "";
        }, "");
    }
}
