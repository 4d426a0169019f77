package dev.pgplay.inventory;

import static dev.pgplay.inventory.ConfigReader.join;
import static dev.pgplay.inventory.ConfigReader.origin;
import static dev.pgplay.inventory.ConfigReader.typeName;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/** Reads a HOCON inventory and validates it completely before anything can use it. */
final class InventoryLoader {
    private static final Set<String> TOP = Set.of("defaults", "hosts", "groups", "roles", "vars");
    private static final Set<String> CONNECTION = Set.of("user", "port", "identity-file", "identity-passphrase-env",
            "identity-passphrase-file", "known-hosts", "host-key-checking", "password-env", "password-file", "become",
            "connect-timeout", "proxy-jump");
    private static final Set<String> HOST_ONLY = Set.of("address", "vars", "groups", "role");
    private static final Set<String> BECOME = Set.of("method", "user", "password-env", "password-file");
    private static final Set<String> GROUP = Set.of("hosts", "children", "vars");
    private static final Set<String> ROLES = Set.of("primary", "standby", "vip", "target");
    private static final Set<String> VIP = Set.of("address", "prefix", "interface", "method", "label", "owner");

    private final Path file;
    private final Path baseDir;
    private final List<Problem> problems = new ArrayList<>();
    private final ConfigReader read = new ConfigReader(problems);
    private final String fileName;
    /** Where each host's blocks with an address start in the main file (two are an error). */
    private Map<String, List<Integer>> hostBlocks = Map.of();
    /** Where each var was set (file:LINE), by the vars block it is in and its key. */
    private final Map<VarKey, String> varOrigins = new HashMap<>();

    InventoryLoader(Path file) {
        this.file = file.toAbsolutePath().normalize();
        this.baseDir = this.file.getParent();
        this.fileName = this.file.getFileName().toString();
    }

    Inventory load() {
        if (!Files.isRegularFile(file)) {
            throw new InventoryException(List.of(new Problem(file.getFileName().toString(), "",
                    Files.exists(file) ? "not a regular file" : "no such file (" + file + ")")));
        }
        if (!Files.isReadable(file)) {
            throw new InventoryException(List.of(new Problem(file.getFileName().toString(), "", "not readable")));
        }
        try {
            scanText(Files.readString(file), file.getFileName().toString());
            return build(ConfigFactory.parseFile(file.toFile(), options()));
        } catch (IOException e) {
            throw new InventoryException(List.of(new Problem(file.getFileName().toString(), "", "cannot read: " + e.getMessage())));
        } catch (ConfigException e) {
            throw new InventoryException(List.of(fromConfigException(e)));
        }
    }

    Inventory loadText(String text) {
        scanText(text, file.getFileName().toString());
        try {
            return build(ConfigFactory.parseString(text, options().setOriginDescription(file.getFileName().toString())));
        } catch (ConfigException e) {
            throw new InventoryException(List.of(fromConfigException(e)));
        }
    }

    private static ConfigParseOptions options() {
        return ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false).setIncluder(new FileIncluder(null));
    }

    private static final java.util.regex.Pattern INCLUDE = java.util.regex.Pattern.compile(
            "^\\s*include\\s+(?:required\\s*\\(\\s*)?(?:(url|file|classpath)\\s*\\(\\s*)?\"([^\"]*)\"");

    /**
     * What is read from the text before it is parsed: the host blocks ({@link HostBlocks}), and the
     * includes. Only files may be included: {@code include url(...)}, {@code classpath(...)} and
     * a quoted URL are refused, with their line (so nothing is fetched while the inventory loads);
     * {@link FileIncluder} refuses them in included files too.
     */
    private void scanText(String text, String name) {
        hostBlocks = HostBlocks.of(text);
        List<Problem> found = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            java.util.regex.Matcher m = INCLUDE.matcher(lines[i]);
            if (m.find() && ("url".equals(m.group(1)) || "classpath".equals(m.group(1)) || (m.group(1) == null && FileIncluder.isUrl(m.group(2))))) {
                found.add(new Problem(name + ":" + (i + 1), "include", "only files can be included, not " + lines[i].trim()
                        + " (an inventory is read before anything is contacted)"));
            }
        }
        if (!found.isEmpty()) {
            throw new InventoryException(found);
        }
    }

    private Inventory build(Config parsed) {
        Config config = parsed.resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(true));
        ConfigObject root = config.root();
        read.unknownKeys(root, TOP, "");

        ConfigObject defaults = read.object(root, "defaults", "");
        if (defaults != null) {
            read.unknownKeys(defaults, CONNECTION, "defaults");
        }
        Map<String, Object> allVars = vars(read.object(root, "vars", ""), "vars");

        Map<String, ConfigObject> hostObjs = hostObjects(root);

        Map<String, Set<String>> groups = groups(read.object(root, "groups", ""), hostObjs);
        Map<String, Map<String, Object>> groupVars = groupVars(read.object(root, "groups", ""));
        // host-level "groups = [..]" adds the host to those groups
        for (Map.Entry<String, ConfigObject> e : hostObjs.entrySet()) {
            for (String g : read.stringList(e.getValue(), "groups", "hosts." + e.getKey())) {
                groups.computeIfAbsent(g, k -> new LinkedHashSet<>()).add(e.getKey());
            }
        }

        Map<String, Host> hosts = hosts(hostObjs, defaults, allVars, groups, groupVars);
        Map<String, Set<String>> allGroups = new LinkedHashMap<>();
        allGroups.put("all", new LinkedHashSet<>(hostObjs.keySet()));
        allGroups.putAll(groups);

        Roles roles = roles(read.object(root, "roles", ""), hostObjs);
        if (!problems.isEmpty()) {
            problems.sort(Comparator.comparing(InventoryLoader::lineOf));
            throw new InventoryException(problems);
        }
        return new Inventory(file, hosts, allGroups, roles);
    }

    /** The host blocks in file order (HOCON objects are unordered: by line, then name), each checked for shape and keys. */
    private Map<String, ConfigObject> hostObjects(ConfigObject root) {
        ConfigObject hostsObj = read.object(root, "hosts", "");
        Map<String, ConfigObject> hostObjs = new LinkedHashMap<>();
        if (hostsObj == null) {
            problems.add(new Problem(origin(root.origin()), "hosts", "no hosts defined"));
            return hostObjs;
        }
        List<Map.Entry<String, ConfigValue>> entries = new ArrayList<>(hostsObj.entrySet());
        entries.sort(Comparator.<Map.Entry<String, ConfigValue>>comparingInt(e -> e.getValue().origin().lineNumber())
                .thenComparing(Map.Entry::getKey));
        for (Map.Entry<String, ConfigValue> e : entries) {
            String path = "hosts." + e.getKey();
            if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                problems.add(new Problem(origin(e.getValue().origin()), path, "must be an object like { address = ... }, got " + typeName(e.getValue())));
                continue;
            }
            ConfigObject h = (ConfigObject) e.getValue();
            List<Integer> blocks = hostBlocks.getOrDefault(e.getKey(), List.of());
            if (blocks.size() > 1) {
                problems.add(new Problem(fileName + ":" + blocks.get(0), path, "host defined twice (" + fileName + ":" + blocks.get(0)
                        + " and " + fileName + ":" + blocks.get(1) + ", both with an address); HOCON would merge the two silently: keep one (a block without an address only overrides settings)"));
            }
            Set<String> allowed = new LinkedHashSet<>(CONNECTION);
            allowed.addAll(HOST_ONLY);
            read.unknownKeys(h, allowed, path);
            hostObjs.put(e.getKey(), h);
        }
        return hostObjs;
    }

    /** The hosts built from their blocks; two hosts at one address and port are a problem. */
    private Map<String, Host> hosts(Map<String, ConfigObject> hostObjs, ConfigObject defaults, Map<String, Object> allVars,
                                    Map<String, Set<String>> groups, Map<String, Map<String, Object>> groupVars) {
        Map<String, Host> hosts = new LinkedHashMap<>();
        Map<String, String> byAddress = new HashMap<>();
        for (Map.Entry<String, ConfigObject> e : hostObjs.entrySet()) {
            Host host = host(e.getKey(), e.getValue(), defaults, allVars, groups, groupVars);
            if (host == null) {
                continue;
            }
            String endpoint = host.address() + ":" + host.port();
            String other = byAddress.putIfAbsent(endpoint, host.name());
            if (other != null) {
                problems.add(new Problem(host.origin(), "hosts." + host.name(),
                        "duplicate host: same address and port (" + endpoint + ") as " + other));
            }
            hosts.put(host.name(), host);
        }
        return hosts;
    }


    private Host host(String name, ConfigObject h, ConfigObject defaults, Map<String, Object> allVars,
                      Map<String, Set<String>> groups, Map<String, Map<String, Object>> groupVars) {
        String path = "hosts." + name;
        int before = problems.size();
        String address = read.string(h, "address", path, null);
        if (address == null) {
            problems.add(new Problem(origin(h.origin()), path, "missing address"));
        } else if (!Addresses.valid(address)) {
            problems.add(new Problem(origin(h.get("address").origin()), path + ".address", "not a host name or IP address: '" + address + "'"));
        }
        Function<String, ConfigValue> setting = key -> h.containsKey(key) ? h.get(key) : defaults == null ? null : defaults.get(key);
        int port = read.intValue(setting.apply("port"), path + ".port", 22);
        if (port < 1 || port > 65535) {
            problems.add(new Problem(origin(setting.apply("port").origin()), path + ".port", "port must be 1..65535, got " + port));
        }
        String user = read.stringValue(setting.apply("user"), path + ".user", System.getProperty("user.name"));
        List<Path> identities = identities(setting.apply("identity-file"), path);
        String kh = read.stringValue(setting.apply("known-hosts"), path + ".known-hosts", null);
        Host.HostKeyChecking hkc = hostKeyChecking(setting.apply("host-key-checking"), path);
        Optional<Secret> password = secret(setting.apply("password-env"), setting.apply("password-file"), path);
        Optional<Secret> passphrase = secret(setting.apply("identity-passphrase-env"), setting.apply("identity-passphrase-file"), path);
        Set<String> explicit = new java.util.TreeSet<>();
        for (String key : List.of("user", "port", "identity-file", "proxy-jump")) {
            if (setting.apply(key) != null) {
                explicit.add(key);
            }
        }
        Become become = become(setting.apply("become"), path);
        Duration connectTimeout = read.duration(setting.apply("connect-timeout"), path + ".connect-timeout", Duration.ofSeconds(10));
        String proxyJump = read.stringValue(setting.apply("proxy-jump"), path + ".proxy-jump", null);
        read.string(h, "role", path, null); // type check only; roles are read in roles()

        Set<String> memberOf = new LinkedHashSet<>();
        groups.forEach((g, members) -> {
            if (members.contains(name)) {
                memberOf.add(g);
            }
        });
        Map<String, Object> vars = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        hostVars(h, path, allVars, memberOf, groupVars, vars, origins);
        if (problems.size() > before) {
            return null;
        }
        return new Host(name, address, port, user, List.copyOf(identities), passphrase, Optional.ofNullable(kh).map(this::path), hkc,
                password, become, connectTimeout, Optional.ofNullable(proxyJump), memberOf, vars, origins, Set.copyOf(explicit), origin(h.origin()));
    }

    /** identity-file: one path or a list of them. */
    private List<Path> identities(ConfigValue id, String path) {
        List<Path> identities = new ArrayList<>();
        if (id != null) {
            if (id.valueType() == ConfigValueType.LIST) {
                for (ConfigValue v : (ConfigList) id) {
                    identities.add(path(read.stringValue(v, path + ".identity-file", "")));
                }
            } else {
                identities.add(path(read.stringValue(id, path + ".identity-file", "")));
            }
        }
        return identities;
    }

    private Host.HostKeyChecking hostKeyChecking(ConfigValue value, String path) {
        String checking = read.stringValue(value, path + ".host-key-checking", "strict");
        return switch (checking) {
            case "strict" -> Host.HostKeyChecking.STRICT;
            case "accept-new" -> Host.HostKeyChecking.ACCEPT_NEW;
            default -> {
                problems.add(new Problem(origin(value.origin()), path + ".host-key-checking", "must be strict or accept-new, got '" + checking + "'"));
                yield Host.HostKeyChecking.STRICT;
            }
        };
    }

    /** The host's vars (all hosts', then its groups', then its own) into {@code vars}, where each came from into {@code origins}. */
    private void hostVars(ConfigObject h, String path, Map<String, Object> allVars, Set<String> memberOf, Map<String, Map<String, Object>> groupVars,
                          Map<String, Object> vars, Map<String, String> origins) {
        vars.putAll(allVars);
        allVars.keySet().forEach(k -> origins.put(k, varOrigins.get(new VarKey("vars", k))));
        for (String g : memberOf) {
            Map<String, Object> gv = groupVars.getOrDefault(g, Map.of());
            vars.putAll(gv);
            gv.keySet().forEach(k -> origins.put(k, varOrigins.get(new VarKey("groups." + g + ".vars", k))));
        }
        Map<String, Object> own = vars(read.object(h, "vars", path), path + ".vars");
        vars.putAll(own);
        own.keySet().forEach(k -> origins.put(k, varOrigins.get(new VarKey(path + ".vars", k))));
    }

    private Become become(ConfigValue v, String hostPath) {
        if (v == null) {
            return Become.SUDO_ROOT;
        }
        String path = hostPath + ".become";
        if (v.valueType() != ConfigValueType.OBJECT) {
            problems.add(new Problem(origin(v.origin()), path, "must be an object like { method = sudo, user = root }"));
            return Become.SUDO_ROOT;
        }
        ConfigObject b = (ConfigObject) v;
        read.unknownKeys(b, BECOME, path);
        String method = read.string(b, "method", path, "sudo");
        if (!"sudo".equals(method)) {
            problems.add(new Problem(origin(b.get("method").origin()), path + ".method", "only sudo is supported, got '" + method + "'"));
        }
        return new Become(method, read.string(b, "user", path, "root"), secret(b.get("password-env"), b.get("password-file"), path));
    }

    private Optional<Secret> secret(ConfigValue env, ConfigValue fileValue, String path) {
        if (env != null) {
            String name = read.stringValue(env, path + ".password-env", "");
            String value = System.getenv(name);
            if (value == null) {
                problems.add(new Problem(origin(env.origin()), path + ".password-env", "environment variable " + name + " is not set"));
                return Optional.empty();
            }
            return Optional.of(Secret.of(value, "env " + name));
        }
        if (fileValue != null) {
            Path p = path(read.stringValue(fileValue, path + ".password-file", ""));
            try {
                return Optional.of(Secret.of(Files.readString(p).strip(), "file " + p));
            } catch (IOException e) {
                problems.add(new Problem(origin(fileValue.origin()), path + ".password-file", "cannot read " + p));
            }
        }
        return Optional.empty();
    }

    private Map<String, Set<String>> groups(ConfigObject groupsObj, Map<String, ConfigObject> hosts) {
        Map<String, Set<String>> direct = new TreeMap<>();
        Map<String, List<String>> children = new TreeMap<>();
        if (groupsObj == null) {
            return new LinkedHashMap<>();
        }
        for (Map.Entry<String, ConfigValue> e : groupsObj.entrySet()) {
            String path = "groups." + e.getKey();
            if ("all".equals(e.getKey())) {
                problems.add(new Problem(origin(e.getValue().origin()), path, "'all' is built in and cannot be defined"));
                continue;
            }
            if (hosts.containsKey(e.getKey())) {
                problems.add(new Problem(origin(e.getValue().origin()), path, "a group cannot have the name of a host"));
            }
            if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                problems.add(new Problem(origin(e.getValue().origin()), path, "must be an object like { hosts = [...] }"));
                continue;
            }
            ConfigObject g = (ConfigObject) e.getValue();
            read.unknownKeys(g, GROUP, path);
            Set<String> members = new LinkedHashSet<>();
            for (String h : read.stringList(g, "hosts", path)) {
                if (!hosts.containsKey(h)) {
                    problems.add(new Problem(origin(g.get("hosts").origin()), path + ".hosts", "no host named " + h));
                }
                members.add(h);
            }
            direct.put(e.getKey(), members);
            children.put(e.getKey(), read.stringList(g, "children", path));
        }
        Map<String, Set<String>> flat = new LinkedHashMap<>();
        for (String g : direct.keySet()) {
            Set<String> out = new LinkedHashSet<>();
            collect(g, direct, children, out, new LinkedHashSet<>(), groupsObj);
            flat.put(g, out);
        }
        return flat;
    }

    private void collect(String group, Map<String, Set<String>> direct, Map<String, List<String>> children,
                         Set<String> out, Set<String> visiting, ConfigObject groupsObj) {
        if (!visiting.add(group)) {
            problems.add(new Problem(origin(groupsObj.get(group).origin()), "groups." + group + ".children",
                    "cycle: " + String.join(" -> ", visiting) + " -> " + group));
            return;
        }
        out.addAll(direct.getOrDefault(group, Set.of()));
        for (String child : children.getOrDefault(group, List.of())) {
            if (!direct.containsKey(child)) {
                problems.add(new Problem(origin(groupsObj.get(group).origin()), "groups." + group + ".children", "no group named " + child));
                continue;
            }
            collect(child, direct, children, out, visiting, groupsObj);
        }
        visiting.remove(group);
    }

    /** Group vars in precedence order: parents before children (fewer members first is not reliable), then by name. */
    private Map<String, Map<String, Object>> groupVars(ConfigObject groupsObj) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        if (groupsObj == null) {
            return out;
        }
        for (Map.Entry<String, ConfigValue> e : new TreeMap<>(groupsObj).entrySet()) {
            if (e.getValue() instanceof ConfigObject g) {
                out.put(e.getKey(), vars(read.object(g, "vars", "groups." + e.getKey()), "groups." + e.getKey() + ".vars"));
            }
        }
        return out;
    }

    private Roles roles(ConfigObject r, Map<String, ConfigObject> hosts) {
        List<String> primaries = new ArrayList<>();
        List<String> standbys = new ArrayList<>();
        List<String> targets = new ArrayList<>();
        Vip vip = null;
        if (r != null) {
            read.unknownKeys(r, ROLES, "roles");
            primaries.addAll(read.stringOrList(r, "primary", "roles"));
            standbys.addAll(read.stringOrList(r, "standby", "roles"));
            targets.addAll(read.stringOrList(r, "target", "roles"));
            ConfigObject v = read.object(r, "vip", "roles");
            if (v != null) {
                vip = vip(v, hosts);
            }
            checkRoleHosts(r, primaries, standbys, hosts);
            checkTargets(r, targets, primaries, standbys, hosts);
        }
        hostRoles(hosts, primaries, standbys, targets);
        if (primaries.size() > 1) {
            ConfigValue where = r != null && r.containsKey("primary") ? r.get("primary") : hosts.get(primaries.get(1));
            problems.add(new Problem(origin(where.origin()), "roles.primary", "two primaries: " + String.join(", ", primaries)));
        }
        if (targets.size() > 1) {
            ConfigValue where = r != null && r.containsKey("target") ? r.get("target") : hosts.get(targets.get(1));
            problems.add(new Problem(origin(where.origin()), "roles.target", "two targets: " + String.join(", ", targets)));
        }
        return new Roles(primaries.stream().findFirst(), List.copyOf(standbys), Optional.ofNullable(vip), targets.stream().findFirst());
    }

    /** roles.target names a host of the inventory that is neither the primary nor a standby. */
    private void checkTargets(ConfigObject r, List<String> targets, List<String> primaries, List<String> standbys, Map<String, ConfigObject> hosts) {
        for (String t : targets) {
            if (!hosts.containsKey(t)) {
                problems.add(new Problem(origin(r.get("target").origin()), "roles.target", "no host named " + t));
            } else if (primaries.contains(t) || standbys.contains(t)) {
                problems.add(new Problem(origin(r.get("target").origin()), "roles.target", t + " is " + (primaries.contains(t) ? "the primary" : "a standby")
                        + "; the target is the server the database moves to"));
            }
        }
    }

    private Vip vip(ConfigObject v, Map<String, ConfigObject> hosts) {
        read.unknownKeys(v, VIP, "roles.vip");
        String address = read.string(v, "address", "roles.vip", null);
        if (address == null) {
            problems.add(new Problem(origin(v.origin()), "roles.vip", "missing address"));
        }
        int prefix = read.intValue(v.get("prefix"), "roles.vip.prefix", 32);
        if (prefix < 1 || prefix > 32) {
            problems.add(new Problem(origin(v.get("prefix").origin()), "roles.vip.prefix", "must be 1..32, got " + prefix));
        }
        String method = read.string(v, "method", "roles.vip", "ip");
        if (!method.equals("ip") && !method.equals("ifconfig")) {
            problems.add(new Problem(origin(v.get("method").origin()), "roles.vip.method", "must be ip or ifconfig, got '" + method + "'"));
        }
        String iface = read.string(v, "interface", "roles.vip", "eth0");
        String label = read.string(v, "label", "roles.vip", iface + ":pgvip");
        String owner = read.string(v, "owner", "roles.vip", null);
        if (owner != null && !hosts.containsKey(owner)) {
            problems.add(new Problem(origin(v.get("owner").origin()), "roles.vip.owner", "no host named " + owner));
        }
        return new Vip(address, prefix, iface, method, label, owner);
    }

    /** roles.primary and roles.standby name hosts of the inventory, and no host is both. */
    private void checkRoleHosts(ConfigObject r, List<String> primaries, List<String> standbys, Map<String, ConfigObject> hosts) {
        for (String p : primaries) {
            if (!hosts.containsKey(p)) {
                problems.add(new Problem(origin(r.get("primary").origin()), "roles.primary", "no host named " + p));
            }
        }
        for (String s : standbys) {
            if (!hosts.containsKey(s)) {
                problems.add(new Problem(origin(r.get("standby").origin()), "roles.standby", "no host named " + s));
            }
            if (primaries.contains(s)) {
                problems.add(new Problem(origin(r.get("standby").origin()), "roles.standby", s + " cannot be primary and standby"));
            }
        }
    }

    /** A host's own {@code role = primary|standby|target}, added to the roles block's. */
    private void hostRoles(Map<String, ConfigObject> hosts, List<String> primaries, List<String> standbys, List<String> targets) {
        for (Map.Entry<String, ConfigObject> e : hosts.entrySet()) {
            ConfigValue role = e.getValue().get("role");
            if (role == null || role.valueType() != ConfigValueType.STRING) {
                continue;
            }
            String value = (String) role.unwrapped();
            switch (value) {
                case "primary" -> {
                    if (!primaries.contains(e.getKey())) {
                        primaries.add(e.getKey());
                    }
                }
                case "standby" -> {
                    if (!standbys.contains(e.getKey())) {
                        standbys.add(e.getKey());
                    }
                }
                case "target" -> {
                    if (!targets.contains(e.getKey())) {
                        targets.add(e.getKey());
                    }
                }
                default -> problems.add(new Problem(origin(role.origin()), "hosts." + e.getKey() + ".role", "must be primary, standby or target, got '" + value + "'"));
            }
        }
    }

    private Map<String, Object> vars(ConfigObject obj, String path) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (obj != null) {
            obj.forEach((k, v) -> {
                out.put(k, v.unwrapped());
                varOrigins.put(new VarKey(path, k), origin(v.origin()));
            });
        }
        return out;
    }

    private record VarKey(String block, String key) {
    }

    private Path path(String s) {
        String expanded = s.startsWith("~/") ? System.getProperty("user.home") + s.substring(1) : s;
        return baseDir.resolve(expanded).normalize();
    }




    private static Problem fromConfigException(ConfigException e) {
        String where = e.origin() == null ? "?" : origin(e.origin());
        String msg = e.getMessage();
        // Typesafe's message repeats the origin first: keep only what follows it
        int idx = msg.indexOf(": ");
        if (e.origin() != null && idx > 0 && msg.startsWith(e.origin().description())) {
            msg = msg.substring(e.origin().description().length()).replaceFirst("^:\\s*", "");
        }
        return new Problem(where, "", msg);
    }

    private static int lineOf(Problem p) {
        int i = p.origin().lastIndexOf(':');
        try {
            return i < 0 ? 0 : Integer.parseInt(p.origin().substring(i + 1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
