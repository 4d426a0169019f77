package dev.pgplay.core.run;

import java.util.List;
import java.util.Locale;

/**
 * One option a playbook reads (with {@code -e NAME=VALUE}, or from the inventory's vars): its
 * name, type, default and what it does. {@link Options#validate} checks every given value against
 * these before any host is contacted; {@code playbook NAME --help} lists them.
 */
public record PlaybookOption(String name, Type type, String defaultValue, String description, List<String> choices, long min, long max) {
    public enum Type { BOOLEAN, INTEGER, STRING, CHOICE }

    public static PlaybookOption bool(String name, boolean defaultValue, String description) {
        return new PlaybookOption(name, Type.BOOLEAN, String.valueOf(defaultValue), description, List.of(), 0, 0);
    }

    public static PlaybookOption integer(String name, long defaultValue, long min, long max, String description) {
        return new PlaybookOption(name, Type.INTEGER, String.valueOf(defaultValue), description, List.of(), min, max);
    }

    /** A string option; {@code defaultValue} may be null (none). */
    public static PlaybookOption string(String name, String defaultValue, String description) {
        return new PlaybookOption(name, Type.STRING, defaultValue, description, List.of(), 0, 0);
    }

    public static PlaybookOption choice(String name, String defaultValue, String description, String... choices) {
        return new PlaybookOption(name, Type.CHOICE, defaultValue, description, List.of(choices), 0, 0);
    }

    /**
     * The value in its one spelling (booleans true or false), or an error text saying what is
     * expected. {@code lenient}: booleans may be written yes/no/on/off/1/0 (the command line).
     */
    String normalize(String value, boolean lenient) throws IllegalArgumentException {
        String v = value.trim();
        switch (type) {
            case BOOLEAN -> {
                String l = v.toLowerCase(Locale.ROOT);
                if (l.equals("true") || (lenient && (l.equals("yes") || l.equals("on") || l.equals("1")))) {
                    return "true";
                }
                if (l.equals("false") || (lenient && (l.equals("no") || l.equals("off") || l.equals("0")))) {
                    return "false";
                }
                throw new IllegalArgumentException("must be true or false" + (lenient ? " (or yes/no, on/off, 1/0)" : "") + ", got '" + value + "'");
            }
            case INTEGER -> {
                long n;
                try {
                    n = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("must be a whole number from " + min + " to " + max + ", got '" + value + "'");
                }
                if (n < min || n > max) {
                    throw new IllegalArgumentException("must be from " + min + " to " + max + ", got " + n);
                }
                return String.valueOf(n);
            }
            case CHOICE -> {
                if (!choices.contains(v)) {
                    throw new IllegalArgumentException("must be one of " + String.join(", ", choices) + ", got '" + value + "'");
                }
                return v;
            }
            default -> {
                return value;
            }
        }
    }

    /** "true|false", "1..600", "auto|direct", "TEXT". */
    public String typeText() {
        return switch (type) {
            case BOOLEAN -> "true|false";
            case INTEGER -> min + ".." + max;
            case CHOICE -> String.join("|", choices);
            case STRING -> "TEXT";
        };
    }
}
