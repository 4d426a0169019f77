package dev.pgplay.inventory;

import java.util.Objects;

/** A password or other secret: printed as {@code ******} everywhere, read only through {@link #reveal()}. */
public final class Secret {
    private final String value;
    private final String source;

    private Secret(String value, String source) {
        this.value = Objects.requireNonNull(value);
        this.source = source;
    }

    /** A secret and where it came from (env var name or file path, never the value). */
    public static Secret of(String value, String source) {
        return new Secret(value, source);
    }

    public String reveal() {
        return value;
    }

    /** Where the secret came from, safe to print. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "******";
    }
}
