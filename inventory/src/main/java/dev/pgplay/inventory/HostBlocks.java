package dev.pgplay.inventory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each host's block ({@code NAME { ... }} inside {@code hosts { }}, or
 * {@code hosts.NAME { ... }}) with an address starts in an inventory's text. HOCON merges two
 * blocks of one name silently, so a copied block with another address would move the host; the
 * loader makes two defining blocks an error with both lines. A block without an address, or a
 * dotted setting such as {@code hosts.db1.port = 2222}, overrides settings and stays allowed.
 * A small scanner: strings, comments and nesting are followed, nothing else of HOCON.
 */
final class HostBlocks {
    private HostBlocks() {
    }

    /**
     * Host name -> the lines (1-based) where a block of it that sets {@code address} starts: the
     * blocks that define the host. A block without an address only overrides settings.
     */
    static Map<String, List<Integer>> of(String text) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        java.util.ArrayDeque<Integer> blockLines = new java.util.ArrayDeque<>(); // where each open brace's key was
        java.util.Set<String> counted = new java.util.HashSet<>();
        List<String> path = new ArrayList<>(); // keys of the open objects, dotted keys split
        java.util.ArrayDeque<Integer> opened = new java.util.ArrayDeque<>(); // how many keys each open brace added
        StringBuilder key = new StringBuilder();
        String lastKey = null;
        int lastKeyLine = 0;
        int line = 1;
        int depthArrays = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                line++;
            }
            if (c == '"') {
                int end = text.startsWith("\"\"\"", i) ? text.indexOf("\"\"\"", i + 3) : closingQuote(text, i);
                String quoted = end < 0 ? "" : text.substring(i + (text.startsWith("\"\"\"", i) ? 3 : 1), end);
                int stop = end < 0 ? text.length() : end + (text.startsWith("\"\"\"", i) ? 2 : 0);
                line += text.substring(i, Math.min(stop + 1, text.length())).chars().filter(ch -> ch == '\n').count();
                key.append(quoted);
                i = stop;
                continue;
            }
            if (c == '#' || (c == '/' && i + 1 < text.length() && text.charAt(i + 1) == '/')) {
                int nl = text.indexOf('\n', i);
                i = (nl < 0 ? text.length() : nl) - 1;
                continue;
            }
            if (depthArrays > 0) {
                if (c == '[') {
                    depthArrays++;
                } else if (c == ']') {
                    depthArrays--;
                }
                continue;
            }
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.') {
                key.append(c);
                continue;
            }
            if (key.length() > 0) {
                lastKey = key.toString();
                lastKeyLine = line;
                key.setLength(0);
            }
            if (c == '{') {
                String k = lastKey == null ? "" : lastKey;
                List<String> full = new ArrayList<>(path);
                if (!k.isEmpty()) {
                    full.addAll(List.of(k.split("\\.", -1)));
                }
                blockLines.push(lastKeyLine);
                List<String> parts = k.isEmpty() ? List.of() : List.of(k.split("\\.", -1));
                path.addAll(parts);
                opened.push(parts.size());
                lastKey = null;
            } else if ((c == '=' || c == ':') && "address".equals(lastKey) && path.size() == 2 && path.get(0).equals("hosts")
                    && !blockLines.isEmpty() && opened.peek() != null && opened.peek() > 0) {
                int blockLine = blockLines.peek();
                if (counted.add(path.get(1) + "@" + blockLine)) {
                    out.computeIfAbsent(path.get(1), n -> new ArrayList<>()).add(blockLine);
                }
            } else if (c == '}') {
                int n = opened.isEmpty() ? 0 : opened.pop();
                if (!blockLines.isEmpty()) {
                    blockLines.pop();
                }
                for (int j = 0; j < n && !path.isEmpty(); j++) {
                    path.remove(path.size() - 1);
                }
                lastKey = null;
            } else if (c == '[') {
                depthArrays = 1;
                lastKey = null;
            } else if (c == '\n' || c == ',') {
                lastKey = null;
            }
        }
        return out;
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
