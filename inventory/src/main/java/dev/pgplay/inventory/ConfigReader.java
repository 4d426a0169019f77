package dev.pgplay.inventory;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Typed access to an inventory's HOCON values: a value of the wrong type, or an unknown key, is
 * a {@link Problem} (FILE:LINE, path, what is wrong) added to the list shared with the loader,
 * and the fallback is returned, so that one load reports every problem at once.
 */
final class ConfigReader {
    private final List<Problem> problems;

    ConfigReader(List<Problem> problems) {
        this.problems = problems;
    }

    void unknownKeys(ConfigObject obj, Set<String> allowed, String path) {
        for (Map.Entry<String, ConfigValue> e : obj.entrySet()) {
            if (!allowed.contains(e.getKey())) {
                problems.add(new Problem(origin(e.getValue().origin()), join(path, e.getKey()),
                        "unknown key (allowed here: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")"));
            }
        }
    }

    ConfigObject object(ConfigObject parent, String key, String path) {
        ConfigValue v = parent.get(key);
        if (v == null) {
            return null;
        }
        if (v.valueType() != ConfigValueType.OBJECT) {
            problems.add(new Problem(origin(v.origin()), join(path, key), "must be an object, got " + typeName(v)));
            return null;
        }
        return (ConfigObject) v;
    }

    String string(ConfigObject parent, String key, String path, String fallback) {
        return stringValue(parent.get(key), join(path, key), fallback);
    }

    String stringValue(ConfigValue v, String path, String fallback) {
        if (v == null) {
            return fallback;
        }
        if (v.valueType() == ConfigValueType.STRING || v.valueType() == ConfigValueType.NUMBER) {
            return String.valueOf(v.unwrapped());
        }
        problems.add(new Problem(origin(v.origin()), path, "must be a string, got " + typeName(v)));
        return fallback;
    }

    int intValue(ConfigValue v, String path, int fallback) {
        if (v == null) {
            return fallback;
        }
        if (v.valueType() == ConfigValueType.NUMBER && v.unwrapped() instanceof Integer i) {
            return i;
        }
        if (v.valueType() == ConfigValueType.STRING) {
            try {
                return Integer.parseInt(((String) v.unwrapped()).trim());
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        problems.add(new Problem(origin(v.origin()), path, "must be a whole number, got " + typeName(v) + " " + v.render()));
        return fallback;
    }

    Duration duration(ConfigValue v, String path, Duration fallback) {
        if (v == null) {
            return fallback;
        }
        try {
            return ConfigFactory.empty().withValue("d", v).getDuration("d");
        } catch (ConfigException e) {
            problems.add(new Problem(origin(v.origin()), path, "must be a duration like 10s, got " + v.render()));
            return fallback;
        }
    }

    List<String> stringList(ConfigObject parent, String key, String path) {
        ConfigValue v = parent.get(key);
        if (v == null) {
            return List.of();
        }
        if (v.valueType() != ConfigValueType.LIST) {
            problems.add(new Problem(origin(v.origin()), join(path, key), "must be a list like [a, b], got " + typeName(v)));
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (ConfigValue item : (ConfigList) v) {
            String s = stringValue(item, join(path, key), null);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    List<String> stringOrList(ConfigObject parent, String key, String path) {
        ConfigValue v = parent.get(key);
        if (v != null && v.valueType() == ConfigValueType.STRING) {
            return List.of((String) v.unwrapped());
        }
        return stringList(parent, key, path);
    }


    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    static String typeName(ConfigValue v) {
        return v.valueType().name().toLowerCase(java.util.Locale.ROOT);
    }

    static String origin(ConfigOrigin o) {
        if (o == null) {
            return "?";
        }
        String name = o.filename() != null ? Path.of(o.filename()).getFileName().toString() : o.description().replaceAll(":.*", "").replaceAll(" @.*", "");
        return o.lineNumber() > 0 ? name + ":" + o.lineNumber() : name;
    }
}
