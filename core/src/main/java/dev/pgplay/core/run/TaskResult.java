package dev.pgplay.core.run;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a task did on one host: {@link Ok} (nothing to do), {@link Changed}, {@link Skipped},
 * {@link Failed} or {@link Unreachable} (the host, not the task, is lost for the rest of the run).
 * {@code data} carries values a later task may read (exit code, output, facts).
 */
public sealed interface TaskResult {
    String message();

    Map<String, Object> data();

    record Ok(String message, Map<String, Object> data) implements TaskResult {
    }

    /** {@code commands} are those that ran (or, in check mode, would run); {@code diff} before/after where it applies. */
    record Changed(String message, List<String> commands, Optional<Diff> diff, Map<String, Object> data) implements TaskResult {
    }

    record Skipped(String message, Map<String, Object> data) implements TaskResult {
    }

    record Failed(String message, Map<String, Object> data) implements TaskResult {
    }

    record Unreachable(String message, Map<String, Object> data) implements TaskResult {
    }

    /** Before and after of a file or setting, for diff mode. */
    record Diff(String path, String before, String after) {
    }

    static Ok ok(String message) {
        return new Ok(message, Map.of());
    }

    static Ok ok(String message, Map<String, Object> data) {
        return new Ok(message, data);
    }

    static Changed changed(String message, List<String> commands) {
        return new Changed(message, commands, Optional.empty(), Map.of());
    }

    static Skipped skipped(String message) {
        return new Skipped(message, Map.of());
    }

    static Failed failed(String message) {
        return new Failed(message, Map.of());
    }

    static Failed failed(String message, Map<String, Object> data) {
        return new Failed(message, data);
    }

    default boolean isFailure() {
        return this instanceof Failed || this instanceof Unreachable;
    }

    /** A value a task left in {@link #data()}, or {@code fallback}. */
    default Object get(String key, Object fallback) {
        return data().getOrDefault(key, fallback);
    }
}
