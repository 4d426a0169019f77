package dev.pgplay.playbooks;

import dev.pgplay.postgres.StandbySql;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What rolling-minor learns and decides during one run; its tasks read and update it in order. */
final class RollingState {
    volatile String primary;
    /** The standby paired with the primary for the switchover (the new primary), or the old primary that must rejoin. */
    volatile String standby;
    /** The other standbys: upgraded first, one at a time, then made to follow whichever node is primary. */
    volatile List<String> others = List.of();
    volatile String target = "";
    volatile boolean standbyDown;
    /** Check mode walked through a switchover that did not happen: later steps describe, not inspect. */
    volatile boolean simulated;
    /** Set when the switchover begins (writes blocked), so later steps need not ask the hosts again. */
    volatile boolean switching;
    volatile boolean oldPrimaryNeedsRejoin;
    volatile long checkpointLsn = -1;
    /** The old primary's shutdown checkpoint when it was fenced (its WAL ends there); -1 when unknown. */
    volatile long fenceCheckpoint = -1;
    /** The old primary's postmaster was still ending (handing over its last WAL) when its stop returned at the shutdown checkpoint. */
    volatile String stillStopping;
    /** How long that postmaster may take to end: a connection attempt left mid-handshake waits out authentication_timeout, a walsender wal_sender_timeout. */
    volatile java.time.Duration stoppingLimit = java.time.Duration.ofSeconds(90);
    /** The psql session on the standby for the proof and the promotion, opened before the stop. */
    volatile StandbySql standbySql;
    /** A switchover is recorded in the journal and not closed yet. */
    volatile boolean journalOpen;
    volatile String rejoinMethod = "";
    volatile long writesBlockedAt;
    /** PgBouncer in front of the primary (switch method pgbouncer), or null. */
    volatile PgBouncer bouncer;
    /** Clients that find the primary by a name (hosts-alias, dns-hook), or null. */
    volatile NameSwitch names;
    /** The old primary of the promotion just made, until the name switch has followed it; null otherwise. */
    volatile String promotedFrom;
    /** When PgBouncer was paused for the switchover in progress; 0 when it is not. */
    volatile long bouncerPausedAt;
    volatile long bouncerResumedAt;
    final List<Long> gapsMillis = new ArrayList<>();
    final Map<String, String> versionsBefore = new LinkedHashMap<>();
    final List<String> switchovers = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    boolean isPrimary(String host) {
        return host.equals(primary);
    }

    boolean isStandby(String host) {
        return host.equals(standby);
    }

    boolean isOther(String host) {
        return others.contains(host);
    }

    void swap() {
        String p = primary;
        primary = standby;
        standby = p;
    }
}
