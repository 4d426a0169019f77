package dev.pgplay.inventory;

import java.util.Optional;

/** How to gain privileges on a host: {@code sudo} to a user, with an optional password. */
public record Become(String method, String user, Optional<Secret> password) {
    public static final Become SUDO_ROOT = new Become("sudo", "root", Optional.empty());

    /** The same method and password, becoming another user (e.g. postgres). */
    public Become as(String otherUser) {
        return new Become(method, otherUser, password);
    }
}
