package dev.pgplay.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;

/** Minimal SSH client for the lab's own tests (the engine has its own transport, tested in core). */
final class LabSsh implements AutoCloseable {
    record Result(int exit, String stdout, String stderr) {
    }

    private final SshClient client;
    private final ClientSession session;

    private LabSsh(SshClient client, ClientSession session) {
        this.client = client;
        this.session = session;
    }

    /** Connects with the lab key, checking the host key strictly against known_hosts. */
    static LabSsh connect(Lab lab, String address) throws IOException {
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(new KnownHostsServerKeyVerifier(RejectAllServerKeyVerifier.INSTANCE, lab.knownHosts()));
        return open(client, lab, address);
    }

    /** Connects with the lab key and records the key the server presented (to tell which host answered). */
    static LabSsh connectRecording(Lab lab, String address, AtomicReference<PublicKey> presented) throws IOException {
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier((session, remote, key) -> {
            presented.set(key);
            return true;
        });
        return open(client, lab, address);
    }

    private static LabSsh open(SshClient client, Lab lab, String address) throws IOException {
        client.start();
        try {
            ClientSession session = client.connect(lab.user(), address, 22).verify(Duration.ofSeconds(10)).getSession();
            session.addPublicKeyIdentity(lab.keys().keyPair());
            session.auth().verify(Duration.ofSeconds(10));
            return new LabSsh(client, session);
        } catch (IOException | RuntimeException e) {
            client.stop();
            throw e;
        }
    }

    Result exec(String command) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ClientChannel channel = session.createExecChannel(command)) {
            channel.setOut(out);
            channel.setErr(err);
            channel.open().verify(Duration.ofSeconds(10));
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofMinutes(5));
            Integer status = channel.getExitStatus();
            return new Result(status == null ? -1 : status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws IOException {
        session.close();
        client.stop();
    }
}
