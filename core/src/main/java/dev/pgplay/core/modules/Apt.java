package dev.pgplay.core.modules;

import dev.pgplay.core.run.Detached;
import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import dev.pgplay.core.ssh.Cmd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Packages in a wanted state (Ansible's apt/package module): {@link #present} installs what is
 * missing, {@link #latest} upgrades to the candidate version; "name=version" pins a version.
 * Uses apt on Debian-like hosts and dnf/yum elsewhere.
 */
public final class Apt implements Operation {
    /** The unit package installs run in (one at a time per host, like dpkg's own lock). */
    public static final String UNIT = "packages";

    private final List<String> specs;
    private final boolean latest;

    private Apt(List<String> specs, boolean latest) {
        this.specs = List.copyOf(specs);
        this.latest = latest;
    }

    public static Apt present(String... specs) {
        return new Apt(List.of(specs), false);
    }

    public static Apt latest(String... names) {
        return new Apt(List.of(names), true);
    }

    /** dpkg left half-done (a lost controller, a reboot mid-install): {@code dpkg --audit} names packages. */
    public static final Fact<Boolean> DPKG_INTERRUPTED = Fact.asUser("root", "dpkg_interrupted",
            Cmd.raw("command -v dpkg >/dev/null || exit 0; dpkg --audit"), r -> !r.out().isEmpty(), false);

    @Override
    public Plan plan(HostContext ctx) {
        // an install started by an earlier run (its controller lost) still runs: wait for it, then look
        if (Detached.adopt(ctx, UNIT, "package install", Duration.ofMinutes(30))) {
            forgetChanges(ctx);
        }
        ctx.forget(DPKG_INTERRUPTED);
        boolean interrupted = ctx.fact(DPKG_INTERRUPTED);
        List<String> needed = new ArrayList<>();
        for (String spec : specs) {
            String name = spec.contains("=") ? spec.substring(0, spec.indexOf('=')) : spec;
            String wanted = spec.contains("=") ? spec.substring(spec.indexOf('=') + 1) : null;
            String installed = ctx.fact(Facts.installedVersion(name));
            if (wanted != null) {
                if (!wanted.equals(installed)) {
                    needed.add(spec);
                }
            } else if (installed.isEmpty()) {
                needed.add(spec);
            } else if (latest) {
                String candidate = ctx.fact(Facts.candidateVersion(name));
                if (!candidate.isEmpty() && !candidate.equals(installed)) {
                    needed.add(name);
                }
            }
        }
        Step repair = Step.asRoot(Cmd.of("dpkg", "--configure", "-a", "--force-confold", "--force-confdef")
                .env("DEBIAN_FRONTEND", "noninteractive")).detached(UNIT);
        if (needed.isEmpty() && interrupted) {
            return Plan.of("finish the interrupted package configuration (dpkg --configure -a)", repair);
        }
        if (needed.isEmpty()) {
            return Plan.nothing(String.join(", ", specs) + (latest ? " at the newest version" : " installed"));
        }
        String manager = ctx.fact(Facts.PACKAGE_MANAGER);
        List<String> argv = new ArrayList<>();
        Cmd cmd;
        if ("apt".equals(manager)) {
            argv.addAll(List.of("apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold",
                    "-o", "Dpkg::Options::=--force-confdef", "--no-install-recommends"));
            argv.addAll(needed);
            cmd = Cmd.of(argv).env("DEBIAN_FRONTEND", "noninteractive");
        } else if ("dnf".equals(manager) || "yum".equals(manager)) {
            argv.addAll(List.of(manager, "install", "-y"));
            needed.forEach(s -> argv.add(s.replace('=', '-')));
            cmd = Cmd.of(argv);
        } else {
            throw new IllegalStateException("no supported package manager (apt, dnf, yum) on " + ctx.host().name());
        }
        Step install = Step.asRoot(cmd).detached(UNIT);
        return interrupted ? Plan.of("finish the interrupted package configuration, then install " + String.join(" ", needed), repair, install)
                : Plan.of("install " + String.join(" ", needed), install);
    }

    @Override
    public List<Fact<?>> changes() {
        List<Fact<?>> out = new ArrayList<>();
        for (String spec : specs) {
            String name = spec.contains("=") ? spec.substring(0, spec.indexOf('=')) : spec;
            out.add(Facts.installedVersion(name));
            out.add(Facts.candidateVersion(name));
        }
        out.add(DPKG_INTERRUPTED);
        return out;
    }

    /** Package scripts start services and clusters and rewrite files: after an install no cached fact is trusted. */
    @Override
    public void forgetChanges(HostContext ctx) {
        ctx.forgetAll();
    }
}
