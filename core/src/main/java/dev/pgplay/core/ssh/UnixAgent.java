package dev.pgplay.core.ssh;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.apache.sshd.agent.SshAgent;
import org.apache.sshd.agent.SshAgentFactory;
import org.apache.sshd.agent.SshAgentServer;
import org.apache.sshd.agent.common.AbstractAgentProxy;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * A client of a running ssh-agent over its UNIX socket ({@code SSH_AUTH_SOCK}), with Java's own
 * UNIX-domain channels (no native library): MINA asks it for identities and signatures. No agent
 * forwarding.
 */
final class UnixAgent extends AbstractAgentProxy {
    private final SocketChannel channel;

    private UnixAgent(Path socket) throws IOException {
        super(null);
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
    }

    /** MINA's factory for agent clients on {@code socket}. */
    static SshAgentFactory factory(Path socket) {
        return new SshAgentFactory() {
            @Override
            public List<ChannelFactory> getChannelForwardingFactories(FactoryManager manager) {
                return List.of();
            }

            @Override
            public SshAgent createClient(Session session, FactoryManager manager) throws IOException {
                return new UnixAgent(socket);
            }

            @Override
            public SshAgentServer createServer(ConnectionService service) {
                throw new UnsupportedOperationException("agent forwarding is not supported");
            }
        };
    }

    /** One request, already framed by {@code prepare}; returns the reply without its length. */
    @Override
    protected synchronized Buffer request(Buffer buffer) throws IOException {
        channel.write(ByteBuffer.wrap(buffer.array(), buffer.rpos(), buffer.available()));
        ByteBuffer length = ByteBuffer.allocate(4);
        readFully(length);
        int n = length.flip().getInt();
        if (n < 0 || n > 256 * 1024) {
            throw new IOException("ssh-agent: bad reply length " + n);
        }
        ByteBuffer reply = ByteBuffer.allocate(n);
        readFully(reply);
        return new ByteArrayBuffer(reply.array());
    }

    private void readFully(ByteBuffer target) throws IOException {
        while (target.hasRemaining()) {
            if (channel.read(target) < 0) {
                throw new IOException("ssh-agent closed the connection");
            }
        }
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
