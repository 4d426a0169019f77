package dev.pgplay.lab;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;

/** An ed25519 key pair generated for one lab run, written in OpenSSH format as a user's key would be. */
public final class LabKeys {
    private final KeyPair keyPair;
    private final Path privateKeyFile;

    private LabKeys(KeyPair keyPair, Path privateKeyFile) {
        this.keyPair = keyPair;
        this.privateKeyFile = privateKeyFile;
    }

    /** Generates a key pair and writes the private key (mode 0600) and {@code FILE.pub}. */
    public static LabKeys generate(Path privateKeyFile) {
        try {
            KeyPair pair = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
            Files.createDirectories(privateKeyFile.toAbsolutePath().getParent());
            Files.deleteIfExists(privateKeyFile);
            Files.createFile(privateKeyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(privateKeyFile)) {
                OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, "pgplay-lab", null, out);
            }
            LabKeys keys = new LabKeys(pair, privateKeyFile);
            Files.writeString(privateKeyFile.resolveSibling(privateKeyFile.getFileName() + ".pub"), keys.authorizedKey() + "\n");
            return keys;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("lab: cannot generate a key pair in " + privateKeyFile + ": " + e.getMessage(), e);
        }
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    public Path privateKeyFile() {
        return privateKeyFile;
    }

    /** The public key as one authorized_keys line. */
    public String authorizedKey() {
        return PublicKeyEntry.toString(keyPair.getPublic()) + " pgplay-lab";
    }
}
