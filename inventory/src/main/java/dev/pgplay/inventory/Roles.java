package dev.pgplay.inventory;

import java.util.List;
import java.util.Optional;

/** The roles a playbook needs: which host is the primary, which are standbys, and the VIP. */
public record Roles(Optional<String> primary, List<String> standbys, Optional<Vip> vip) {
}
