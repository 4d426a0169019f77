package dev.pgplay.inventory;

/** One validation error: where ({@code hosts.conf:LINE}), which setting (path) and what is wrong. */
public record Problem(String origin, String path, String message) {
    @Override
    public String toString() {
        return origin + ": " + (path.isEmpty() ? "" : path + ": ") + message;
    }
}
