package dev.pgplay.playbooks;

import dev.pgplay.inventory.Inventory;
import dev.pgplay.postgres.PgSettings;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What major-move reads from the inventory and -e, checked before any host is contacted: the
 * source cluster (roles.primary, pg-version, pg-cluster, pg-port), the server it moves to
 * (roles.target), {@code new-version}, {@code jobs}, {@code verify} (full by default: every row of
 * both sides is compared while writes are blocked) and how clients follow ({@code vars.switch}:
 * vip, hosts-alias, dns-hook; at least one).
 */
record MoveSettings(PgSettings old, PgSettings next, String target, int jobs, boolean fullVerify, List<String> switchMethods,
        Optional<NameSwitch> names, boolean acceptLoss) {

    static MoveSettings of(Inventory inventory, Map<String, Object> extra) {
        String where = inventory.file().getFileName().toString();
        PgSettings old = PgSettings.of(inventory, extra, false);
        var primary = inventory.host(old.primary());
        String target = inventory.roles().target().orElseThrow(() -> new IllegalArgumentException(where
                + ": roles.target is not set (the server the database moves to, e.g. roles { target = db3 })"));
        String next = MajorSettings.newVersion(where, extra.containsKey("new-version") ? String.valueOf(extra.get("new-version"))
                : primary.varString("new-version", null), old.version(), "the major the target runs");
        MajorSettings shared = MajorSettings.of(inventory, withNewVersion(extra, next), true); // jobs and verify, checked the same way
        SwitchVars vars = new SwitchVars(primary, extra);
        List<String> methods = vars.methods(old);
        if (methods.isEmpty()) {
            throw new IllegalArgumentException(vars.varOrigin("switch") + ": major-move needs a way to move the clients to " + target
                    + ": vars.switch = [hosts-alias] (with vars.hosts-alias and group clients), [dns-hook], or roles.vip with [vip]");
        }
        if (methods.contains("pgbouncer")) {
            throw new IllegalArgumentException(vars.varOrigin("switch") + ": major-move switches by vip, hosts-alias or dns-hook; "
                    + "it does not re-point PgBouncer to another server: list the others, and point PgBouncer at " + target + " yourself");
        }
        boolean acceptLoss = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("accept-data-loss", "false")));
        return new MoveSettings(old, old.with(next, old.port()), target, shared.jobs(), shared.fullVerify(), methods,
                NameSwitch.of(inventory, old, extra), acceptLoss);
    }

    private static Map<String, Object> withNewVersion(Map<String, Object> extra, String next) {
        Map<String, Object> out = new java.util.HashMap<>(extra);
        out.put("new-version", next);
        return out;
    }

    boolean vip() {
        return switchMethods.contains("vip");
    }

    /** "13/main on db1 -> 15/main on db3" */
    String title() {
        return old.version() + "/" + old.cluster() + " on " + old.primary() + " -> " + next.version() + "/" + next.cluster() + " on " + target;
    }

    String newBinDir() {
        return "/usr/lib/postgresql/" + next.version() + "/bin";
    }

    String newBin(String program) {
        return newBinDir() + "/" + program;
    }

    /** Where the dumps live on the target (owned by postgres). */
    String workDir() {
        return "/var/lib/postgresql/pgplay-move-" + old.cluster() + "-" + old.version() + "-" + next.version();
    }

    /** The status file's name on the source: /var/lib/pgplay/major-move-CLUSTER.status. */
    String statusName() {
        return "move-" + old.cluster();
    }
}
