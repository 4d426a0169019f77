package dev.pgplay.postgres;

import dev.pgplay.core.run.Fact;
import dev.pgplay.core.run.HostContext;
import dev.pgplay.core.run.Operation;
import dev.pgplay.core.run.Step;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Physical replication slots on a server: the ones named made when missing, or the inactive ones
 * pgplay made ({@code pgplay_...}) dropped. Slots made by others are never touched.
 */
public final class ReplicationSlots implements Operation {
    private final int port;
    private final List<String> wanted;
    private final String prefix;

    private ReplicationSlots(int port, List<String> wanted, String prefix) {
        this.port = port;
        this.wanted = wanted;
        this.prefix = prefix;
    }

    /** Every slot named exists (made when missing). */
    public static ReplicationSlots present(int port, List<String> names) {
        return new ReplicationSlots(port, List.copyOf(names), null);
    }

    /** pgplay's inactive slots dropped (a standby keeps them from when it was a primary; they hold WAL). */
    public static ReplicationSlots staleDropped(int port) {
        return new ReplicationSlots(port, null, "pgplay_");
    }

    /** The inactive slots whose names start with {@code prefix} (one of pgplay's: a blue-green upgrade's, {@code pgplay_bg_}) dropped. */
    public static ReplicationSlots staleDropped(int port, String prefix) {
        if (!prefix.startsWith("pgplay_")) {
            throw new IllegalArgumentException("only pgplay's slots are dropped, not " + prefix + "...");
        }
        return new ReplicationSlots(port, null, prefix);
    }

    /** Every slot on the server: name -> active; fails when the server cannot be read. */
    public static Fact<Map<String, Boolean>> slots(int port) {
        return Psql.fact("replication slots", port, "SELECT slot_name, active FROM pg_replication_slots",
                rows -> rows.stream().collect(Collectors.toMap(r -> r.get(0), r -> "t".equals(r.get(1)))), null);
    }

    /** Inactive slots not made by pgplay: they keep WAL until someone drops them. */
    public static List<String> othersInactive(HostContext ctx, int port) {
        return read(ctx, port).entrySet().stream().filter(e -> !e.getValue() && !ours(e.getKey())).map(Map.Entry::getKey).sorted().toList();
    }

    private static boolean ours(String slot) {
        return slot.startsWith("pgplay_");
    }

    private static Map<String, Boolean> read(HostContext ctx, int port) {
        Map<String, Boolean> slots = ctx.fact(slots(port));
        if (slots == null) {
            throw new IllegalStateException(ctx.host().name() + ": cannot read the replication slots on port " + port + " (is the server running?)");
        }
        return slots;
    }

    @Override
    public Plan plan(HostContext ctx) {
        Map<String, Boolean> slots = read(ctx, port);
        if (wanted != null) {
            List<String> missing = wanted.stream().filter(n -> !slots.containsKey(n)).toList();
            if (missing.isEmpty()) {
                return Plan.nothing("slots exist");
            }
            String sql = missing.stream().map(n -> "SELECT pg_create_physical_replication_slot(" + Psql.literal(n) + ");\n")
                    .collect(Collectors.joining());
            return Plan.of("create " + String.join(", ", missing), Psql.step(port, sql));
        }
        List<String> stale = slots.entrySet().stream().filter(e -> !e.getValue() && e.getKey().startsWith(prefix)).map(Map.Entry::getKey).sorted().toList();
        if (stale.isEmpty()) {
            return Plan.nothing("no stale slots");
        }
        String sql = stale.stream().map(n -> "SELECT pg_drop_replication_slot(" + Psql.literal(n) + ");\n").collect(Collectors.joining());
        return Plan.of("drop " + String.join(", ", stale), Psql.step(port, sql));
    }

    @Override
    public List<Fact<?>> changes() {
        return List.of(slots(port));
    }
}
