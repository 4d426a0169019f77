package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;
import java.net.SocketAddress;
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
        return verifier.verifyServerKey(session, remote, key);
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
