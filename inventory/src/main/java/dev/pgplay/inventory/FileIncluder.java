package dev.pgplay.inventory;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigIncludeContext;
import com.typesafe.config.ConfigIncluder;
import com.typesafe.config.ConfigIncluderClasspath;
import com.typesafe.config.ConfigIncluderURL;
import com.typesafe.config.ConfigObject;
import java.net.URL;

/**
 * The includer of an inventory: files only. {@code include url(...)}, {@code classpath(...)} and
 * a quoted URL fail instead of being fetched while the file loads; files go to Typesafe's own
 * includer.
 */
final class FileIncluder implements ConfigIncluder, ConfigIncluderURL, ConfigIncluderClasspath {
    private final ConfigIncluder fallback;

    FileIncluder(ConfigIncluder fallback) {
        this.fallback = fallback;
    }

    static boolean isUrl(String what) {
        return what.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") && !what.startsWith("file:");
    }

    @Override
    public ConfigIncluder withFallback(ConfigIncluder other) {
        return other == this || other == fallback ? this : new FileIncluder(fallback == null ? other : fallback.withFallback(other));
    }

    @Override
    public ConfigObject include(ConfigIncludeContext context, String what) {
        if (isUrl(what)) {
            throw refused("\"" + what + "\"");
        }
        if (fallback == null) {
            throw new ConfigException.BugOrBroken("no file includer to fall back to");
        }
        return fallback.include(context, what);
    }

    @Override
    public ConfigObject includeURL(ConfigIncludeContext context, URL url) {
        throw refused("url(\"" + url + "\")");
    }

    @Override
    public ConfigObject includeResources(ConfigIncludeContext context, String what) {
        throw refused("classpath(\"" + what + "\")");
    }

    private static ConfigException refused(String what) {
        return new ConfigException.Generic("include " + what + ": only files can be included (an inventory is read before anything is contacted)");
    }
}
