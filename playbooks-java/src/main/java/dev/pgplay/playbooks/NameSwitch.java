package dev.pgplay.playbooks;

import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.TaskResult;
import dev.pgplay.core.ssh.Cmd;
import dev.pgplay.core.ssh.ExecOptions;
import dev.pgplay.inventory.Inventory;
import dev.pgplay.postgres.PgSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Clients that find the primary by a name (seed 002): switch method {@code hosts-alias} keeps
 * {@code vars.hosts-alias} (say db.lab) in /etc/hosts of every host of group {@code clients}
 * leading to the primary ({@link EtcHosts}); switch method {@code dns-hook} runs
 * {@code vars.dns-hook}, an executable on the controller, with the old and the new primary's
 * address after each switchover (a DNS update is the site's business: nsupdate, an API; a run
 * that finishes a switchover cut by a lost controller calls it again, so it must bear a second
 * call with the same arguments). Both act
 * right after the promotion, with the VIP; the alias is also made right by every run before it
 * starts, so a run after a lost controller finishes it.
 */
final class NameSwitch {
    private final String name;
    private final List<String> clients;
    private final Optional<Path> hook;

    private NameSwitch(String name, List<String> clients, Optional<Path> hook) {
        this.name = name;
        this.clients = clients;
        this.hook = hook;
    }

    /** "hosts-alias db.lab, dns-hook" */
    String methods() {
        List<String> out = new ArrayList<>();
        if (!name.isEmpty()) {
            out.add("hosts-alias " + name);
        }
        hook.ifPresent(h -> out.add("dns-hook"));
        return String.join(", ", out);
    }

    /** The name switch of {@code vars.switch}, checked before any host is contacted; empty when neither method is listed. */
    static Optional<NameSwitch> of(Inventory inventory, PgSettings s, java.util.Map<String, Object> extra) {
        SwitchVars p = new SwitchVars(inventory.host(s.primary()), extra);
        List<String> methods = p.methods(s);
        if (!methods.contains("hosts-alias") && !methods.contains("dns-hook")) {
            return Optional.empty();
        }
        String name = "";
        List<String> clients = List.of();
        if (methods.contains("hosts-alias")) {
            name = p.varString("hosts-alias", "");
            if (!name.matches("(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
                throw new IllegalArgumentException((name.isEmpty() ? p.varOrigin("switch") : p.varOrigin("hosts-alias")) + ": switch lists hosts-alias: "
                        + (name.isEmpty() ? "vars.hosts-alias is not set (the name clients connect to, e.g. db.lab)" : "hosts-alias '" + name + "' is not a host name"));
            }
            clients = List.copyOf(inventory.groups().getOrDefault("clients", Set.of()));
            if (clients.isEmpty()) {
                throw new IllegalArgumentException(p.varOrigin("switch") + ": switch lists hosts-alias, and the inventory has no group clients "
                        + "(groups { clients { hosts = [...] } }: the hosts whose /etc/hosts carries " + name + ")");
            }
        }
        Optional<Path> hook = Optional.empty();
        if (methods.contains("dns-hook")) {
            String file = p.varString("dns-hook", "");
            Path path = file.isEmpty() ? null : inventory.file().toAbsolutePath().getParent().resolve(file);
            if (path == null || !Files.isRegularFile(path) || !Files.isExecutable(path)) {
                throw new IllegalArgumentException((file.isEmpty() ? p.varOrigin("switch") : p.varOrigin("dns-hook")) + ": switch lists dns-hook: "
                        + (file.isEmpty() ? "vars.dns-hook is not set (an executable on this controller, called with the old and the new address)"
                                : path + " is not an executable file"));
            }
            hook = Optional.of(path);
        }
        return Optional.of(new NameSwitch(name, clients, hook));
    }

    /**
     * The alias leads to {@code primary} on every client; with {@code from} set (a switchover just
     * promoted {@code primary}), the DNS hook is called with the old and the new address.
     */
    TaskResult lead(HostContext ctx, boolean simulated, String primary, String from) throws Exception {
        String address = ctx.inventory().host(primary).address();
        if (simulated) {
            List<String> would = new ArrayList<>();
            if (!name.isEmpty()) {
                would.add(name + " -> " + address + " in /etc/hosts of " + String.join(", ", clients));
            }
            hook.filter(h -> from != null).ifPresent(h -> would.add(h + " " + ctx.inventory().host(from).address() + " " + address));
            return would.isEmpty() ? TaskResult.ok("nothing to switch") : TaskResult.changed("would: " + String.join("; ", would), would);
        }
        List<String> done = new ArrayList<>();
        List<String> ok = new ArrayList<>();
        for (String c : name.isEmpty() ? List.<String>of() : clients) {
            HostContext h = ctx.on(c);
            String text = h.connection().exec(Cmd.of("cat", "/etc/hosts"), ExecOptions.as("root")).check(c + ": /etc/hosts").stdout();
            EtcHosts next = EtcHosts.pointing(text, name, address);
            if (!next.changed()) {
                ok.add(c);
                continue;
            }
            if (ctx.checkMode()) {
                done.add("would: " + c + ": " + name + " -> " + address);
                continue;
            }
            String tmp = "/etc/hosts.pgplay-new";
            h.connection().upload(next.text().getBytes(StandardCharsets.UTF_8), tmp, "0644", "root:root");
            // renamed over it (readers see the old or the new file); where /etc/hosts is a mount point (a container) that
            // cannot be, and it is rewritten in place
            h.connection().exec(Cmd.of("sh", "-c", "mv -f \"$1\" /etc/hosts 2>/dev/null || { cat \"$1\" > /etc/hosts && rm -f \"$1\"; }", "sh", tmp),
                    ExecOptions.as("root")).check(c + ": /etc/hosts");
            done.add(c + ": " + name + " -> " + address + " (was " + (EtcHosts.address(text, name).isEmpty() ? "not there" : EtcHosts.address(text, name)) + ")");
        }
        if (hook.isPresent() && from != null && ctx.checkMode()) {
            done.add("would: " + hook.get() + " " + ctx.inventory().host(from).address() + " " + address);
        } else if (hook.isPresent() && from != null) {
            done.add(runHook(ctx.inventory().host(from).address(), address));
        }
        String okText = ok.isEmpty() ? "" : name + " leads to " + primary + " on " + String.join(", ", ok);
        return done.isEmpty() ? TaskResult.ok(okText.isEmpty() ? "nothing to switch" : okText)
                : TaskResult.changed(String.join("; ", done) + (okText.isEmpty() ? "" : "; " + okText), done);
    }

    /** The hook, its arguments as argv (no shell), bounded to 60 s; its output in the result. */
    private String runHook(String oldAddress, String newAddress) throws IOException, InterruptedException {
        Path log = Files.createTempFile("pgplay-dns-hook", ".log");
        try {
            Process p = new ProcessBuilder(hook.get().toString(), oldAddress, newAddress).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("dns-hook " + hook.get() + " " + oldAddress + " " + newAddress + " did not end within 60 s");
            }
            String text = Files.readString(log, StandardCharsets.UTF_8).strip();
            text = text.length() > 2000 ? text.substring(text.length() - 2000) : text;
            if (p.exitValue() != 0) {
                throw new IllegalStateException("dns-hook " + hook.get() + " " + oldAddress + " " + newAddress + " exited " + p.exitValue() + ": " + text);
            }
            return "dns-hook " + oldAddress + " -> " + newAddress + (text.isEmpty() ? "" : ": " + text);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
