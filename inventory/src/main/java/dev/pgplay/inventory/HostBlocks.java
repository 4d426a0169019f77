package dev.pgplay.inventory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where each host's block ({@code NAME { ... }} inside {@code hosts { }}, or
 * {@code hosts.NAME { ... }}) with an address starts in an inventory's text. HOCON merges two
 * blocks of one name silently, so a copied block with another address would move the host; the
 * loader makes two defining blocks an error with both lines. A block without an address, or a
 * dotted setting such as {@code hosts.db1.port = 2222}, overrides settings and stays allowed.
 * A small scanner: strings, comments and nesting are followed, nothing else of HOCON.
 */
final class HostBlocks {
    private final String text;
    private final Map<String, List<Integer>> out = new LinkedHashMap<>();
    private final ArrayDeque<Integer> blockLines = new ArrayDeque<>(); // where each open brace's key was
    private final ArrayDeque<Integer> opened = new ArrayDeque<>(); // how many keys each open brace added
    private final Set<String> counted = new HashSet<>();
    private final List<String> path = new ArrayList<>(); // keys of the open objects, dotted keys split
    private final StringBuilder key = new StringBuilder();
    private String lastKey;
    private int lastKeyLine;
    private int line = 1;
    private int depthArrays;

    private HostBlocks(String text) {
        this.text = text;
    }

    /**
     * Host name -> the lines (1-based) where a block of it that sets {@code address} starts: the
     * blocks that define the host. A block without an address only overrides settings.
     */
    static Map<String, List<Integer>> of(String text) {
        HostBlocks scan = new HostBlocks(text);
        for (int i = 0; i < text.length(); i++) {
            i = scan.next(i);
        }
        return scan.out;
    }

    /** Reads the character at {@code i} (a whole string or comment when one starts there); returns the last index read. */
    private int next(int i) {
        char c = text.charAt(i);
        if (c == '\n') {
            line++;
        }
        if (c == '"') {
            return quoted(i);
        }
        if (c == '#' || (c == '/' && i + 1 < text.length() && text.charAt(i + 1) == '/')) {
            int nl = text.indexOf('\n', i);
            return (nl < 0 ? text.length() : nl) - 1;
        }
        if (depthArrays > 0) {
            if (c == '[') {
                depthArrays++;
            } else if (c == ']') {
                depthArrays--;
            }
            return i;
        }
        if (Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.') {
            key.append(c);
            return i;
        }
        if (key.length() > 0) {
            lastKey = key.toString();
            lastKeyLine = line;
            key.setLength(0);
        }
        if (c == '{') {
            open();
        } else if ((c == '=' || c == ':') && "address".equals(lastKey)) {
            address();
        } else if (c == '}') {
            close();
        } else if (c == '[') {
            depthArrays = 1;
            lastKey = null;
        } else if (c == '\n' || c == ',') {
            lastKey = null;
        }
        return i;
    }

    /** A quoted string (or triple-quoted) is part of a key; returns where it ends. */
    private int quoted(int i) {
        boolean triple = text.startsWith("\"\"\"", i);
        int end = triple ? text.indexOf("\"\"\"", i + 3) : closingQuote(text, i);
        String quoted = end < 0 ? "" : text.substring(i + (triple ? 3 : 1), end);
        int stop = end < 0 ? text.length() : end + (triple ? 2 : 0);
        line += text.substring(i, Math.min(stop + 1, text.length())).chars().filter(ch -> ch == '\n').count();
        key.append(quoted);
        return stop;
    }

    private void open() {
        String k = lastKey == null ? "" : lastKey;
        blockLines.push(lastKeyLine);
        List<String> parts = k.isEmpty() ? List.of() : List.of(k.split("\\.", -1));
        path.addAll(parts);
        opened.push(parts.size());
        lastKey = null;
    }

    /** {@code address =} directly inside a host's own block: that block defines the host. */
    private void address() {
        if (path.size() == 2 && path.get(0).equals("hosts") && !blockLines.isEmpty() && opened.peek() != null && opened.peek() > 0) {
            int blockLine = blockLines.peek();
            if (counted.add(path.get(1) + "@" + blockLine)) {
                out.computeIfAbsent(path.get(1), n -> new ArrayList<>()).add(blockLine);
            }
        }
    }

    private void close() {
        int n = opened.isEmpty() ? 0 : opened.pop();
        if (!blockLines.isEmpty()) {
            blockLines.pop();
        }
        for (int j = 0; j < n && !path.isEmpty(); j++) {
            path.remove(path.size() - 1);
        }
        lastKey = null;
    }

    private static int closingQuote(String text, int open) {
        for (int j = open + 1; j < text.length(); j++) {
            char c = text.charAt(j);
            if (c == '\\') {
                j++;
            } else if (c == '"' || c == '\n') {
                return j;
            }
        }
        return -1;
    }
}
