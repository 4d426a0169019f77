package dev.pgplay.inventory;

import java.util.List;
import java.util.Optional;

/**
 * The roles a playbook needs: which host is the primary, which are standbys, the VIP, and the
 * target (the server a database moves to: major-move).
 */
public record Roles(Optional<String> primary, List<String> standbys, Optional<Vip> vip, Optional<String> target) {
}
