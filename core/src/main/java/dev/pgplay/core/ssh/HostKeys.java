package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.keyverifier.ServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.config.keys.KeyUtils;

/**
 * Host key checking per host: the host's known_hosts file, strict unless the inventory opts in to
 * accept-new (an unknown key is appended); a changed key is always refused. The reason of a
 * refusal is kept so the error can say what happened instead of "key did not validate".
 */
final class HostKeys implements ServerKeyVerifier {
    static final AttributeRepository.AttributeKey<Host> HOST = new AttributeRepository.AttributeKey<>();
    private static final Path DEFAULT_KNOWN_HOSTS = Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");

    private final Map<Path, ServerKeyVerifier> strict = new ConcurrentHashMap<>();
    private final Map<Path, ServerKeyVerifier> acceptNew = new ConcurrentHashMap<>();
    private final Map<String, String> refusals = new ConcurrentHashMap<>();

    @Override
    public boolean verifyServerKey(ClientSession session, SocketAddress remote, PublicKey key) {
        Host host = hostOf(session);
        if (host == null) {
            refusals.put(String.valueOf(remote), "no inventory host for this connection");
            return false;
        }
        Path file = host.knownHosts().orElse(DEFAULT_KNOWN_HOSTS);
        ServerKeyVerifier verifier = host.hostKeyChecking() == Host.HostKeyChecking.ACCEPT_NEW
                ? acceptNew.computeIfAbsent(file, f -> new Recording(AcceptAllServerKeyVerifier.INSTANCE, f, refusals))
                : strict.computeIfAbsent(file, f -> new Recording(RejectAllServerKeyVerifier.INSTANCE, f, refusals));
        refusals.remove(host.name());
        String unusable = unusable(file, host.hostKeyChecking());
        if (unusable != null) {
            refusals.put(host.name(), unusable + "; refusing to connect to " + host.address() + " (host-key-checking = "
                    + (host.hostKeyChecking() == Host.HostKeyChecking.ACCEPT_NEW ? "accept-new" : "strict") + ")");
            return false;
        }
        return verifier.verifyServerKey(session, remote, key);
    }

    /**
     * Why the known_hosts file cannot be used, or null: it must be a readable regular file (and,
     * for accept-new, writable, or creatable when missing). Never fall back to accepting a key.
     */
    static String unusable(Path file, Host.HostKeyChecking mode) {
        boolean acceptNew = mode == Host.HostKeyChecking.ACCEPT_NEW;
        if (Files.exists(file)) {
            if (!Files.isRegularFile(file)) {
                return "known_hosts " + file + " is not a regular file";
            }
            if (!Files.isReadable(file)) {
                return "known_hosts " + file + " cannot be read";
            }
            if (acceptNew && !Files.isWritable(file)) {
                return "known_hosts " + file + " is not writable, so a new key could not be recorded";
            }
            return null;
        }
        if (!acceptNew) {
            return null; // strict: every key is unknown, and that refusal says how to add one
        }
        Path dir = file.toAbsolutePath().getParent();
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
            return "known_hosts " + file + " does not exist and cannot be created";
        }
        return null;
    }

    static Host hostOf(ClientSession session) {
        Host host = session.getAttribute(HOST);
        if (host == null && session.getConnectionContext() != null) {
            host = session.getConnectionContext().getAttribute(HOST);
        }
        return host;
    }

    /** Why the host's key was refused, if it was. */
    String refusal(Host host) {
        return refusals.get(host.name());
    }

    private static final class Recording extends KnownHostsServerKeyVerifier {
        private final Map<String, String> refusals;

        Recording(ServerKeyVerifier delegate, Path file, Map<String, String> refusals) {
            super(delegate, file);
            this.refusals = refusals;
            setModifiedServerKeyAcceptor((session, remote, entry, expected, actual) -> {
                refusals.put(hostOf(session).name(), "HOST KEY CHANGED for " + hostOf(session).address()
                        + ": known_hosts " + file + " has " + KeyUtils.getFingerPrint(expected) + ", the server presents "
                        + KeyUtils.getFingerPrint(actual) + "; refusing to connect (possible man-in-the-middle; "
                        + "if the host was reinstalled, remove the old line from " + file + ")");
                return false;
            });
        }

        @Override
        public boolean verifyServerKey(ClientSession session, SocketAddress remote, PublicKey key) {
            boolean accepted = super.verifyServerKey(session, remote, key);
            // a key accepted but not recorded would be accepted again, whatever it is next time
            return accepted && !refusals.containsKey(hostOf(session).name());
        }

        @Override
        protected boolean acceptIncompleteHostKeys(ClientSession session, SocketAddress remote, PublicKey key, Throwable reason) {
            refusals.put(hostOf(session).name(), "known_hosts " + getPath() + " could not be read (" + reason.getMessage()
                    + "); refusing to connect to " + hostOf(session).address());
            return false;
        }

        @Override
        protected void handleKnownHostsFileUpdateFailure(ClientSession session, SocketAddress remote, PublicKey key, Path file,
                                                         java.util.Collection<HostEntryPair> current, Throwable reason) {
            refusals.put(hostOf(session).name(), "the new host key " + KeyUtils.getFingerPrint(key) + " of " + hostOf(session).address()
                    + " could not be recorded in " + file + " (" + reason.getMessage() + "); refusing to connect");
        }

        @Override
        protected boolean acceptUnknownHostKey(ClientSession session, SocketAddress remote, PublicKey key) {
            boolean accepted = super.acceptUnknownHostKey(session, remote, key);
            Host host = hostOf(session);
            if (!accepted) {
                refusals.put(host.name(), "unknown host key " + KeyUtils.getFingerPrint(key) + " for " + host.address()
                        + " (not in " + getPath() + "; host-key-checking = strict). Check the fingerprint, then add it: "
                        + "ssh-keyscan -p " + host.port() + " " + host.address() + " >> " + getPath()
                        + ", or set host-key-checking = accept-new");
            }
            return accepted;
        }
    }
}
