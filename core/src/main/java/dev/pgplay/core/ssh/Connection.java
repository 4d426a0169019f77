package dev.pgplay.core.ssh;

import dev.pgplay.inventory.Host;

/**
 * The way to one host that every task uses: commands (as the login user or through the host's
 * become method), long-running interactive commands, files, local port forwards. Obtained from a
 * {@link Transport}; {@link SshTransport} is the real one. Every method may throw
 * {@link UnreachableException} when the host cannot be reached or the connection is lost.
 */
public interface Connection {
    Host host();

    /** Runs a command with these options (become user, time limit, stdin, line listener). */
    ExecResult exec(Cmd cmd, ExecOptions options);

    /** Runs a command as the login user with the default time limit. */
    default ExecResult exec(Cmd cmd) {
        return exec(cmd, ExecOptions.DEFAULT);
    }

    /** Runs a command as root through the host's become method. */
    default ExecResult sudo(Cmd cmd) {
        return exec(cmd, ExecOptions.as(host().become().user()));
    }

    /** Runs a command as {@code user} (e.g. postgres) through the host's become method. */
    default ExecResult sudo(String user, Cmd cmd) {
        return exec(cmd, ExecOptions.as(user));
    }

    /**
     * Starts a command that keeps running and reads its standard input as it comes (become as in
     * {@link #exec}; a become password is sent first). The caller drives it with
     * {@link Interactive#request} and closes it.
     */
    Interactive interactive(Cmd cmd, ExecOptions options);

    /**
     * Writes a file atomically: staged privately, then installed with the mode and owner next to
     * the target and renamed over it (as root through become).
     */
    void upload(byte[] content, String path, String mode, String owner);

    /** Reads a file (as root through become, so root-owned files can be read). */
    default byte[] download(String path) {
        ExecResult r = sudo(Cmd.of("base64", "-w0", path)).check(host().name());
        return java.util.Base64.getDecoder().decode(r.out());
    }

    /** Forwards a free local port to {@code remoteHost:remotePort} as seen from this host (e.g. 127.0.0.1:5432). */
    Tunnel forward(String remoteHost, int remotePort);

    /**
     * A port on the host's loopback, chosen by its sshd, forwarded back to {@code localPort} on the
     * controller's loopback (remote forwarding: the host's sshd must allow TCP forwarding); the
     * tunnel's {@link Tunnel#localPort()} is that port on the host.
     */
    default Tunnel back(int localPort) {
        throw new UnsupportedOperationException(host().name() + ": this connection cannot forward a port back");
    }
}
