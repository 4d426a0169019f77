package dev.pgplay.core.ssh;

/** The host cannot be reached or refuses us: connection, host key or authentication failure. */
public final class UnreachableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
