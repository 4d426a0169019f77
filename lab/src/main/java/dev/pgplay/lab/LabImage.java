package dev.pgplay.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The lab's prerequisites on the controller: a Docker engine that answers and the lab host image,
 * built locally from {@code lab/image} when it is missing or its recipe changed. Both steps are the
 * scripts that {@code .ci/run} and {@code bin/lab} use, so there is one definition of each.
 */
public final class LabImage {
    /** The image every lab host runs. */
    public static final String NAME = System.getenv().getOrDefault("LAB_IMAGE", "pgplay-lab:latest");

    private static volatile boolean ready;

    private LabImage() {
    }

    /** Starts the engine and builds the image if needed; runs once per JVM. */
    public static synchronized String ensure() {
        if (!ready) {
            Path lab = repoRoot().resolve("lab");
            run(List.of("bash", lab.resolve("ensure-docker.sh").toString()), 180);
            run(List.of("bash", lab.resolve("build-image.sh").toString()), 1800);
            ready = true;
        }
        return NAME;
    }

    /** The repository root: system property pgplay.repo, else the first parent of the working directory holding lab/image. */
    public static Path repoRoot() {
        String prop = System.getProperty("pgplay.repo");
        if (prop != null && Files.isDirectory(Path.of(prop, "lab", "image"))) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("lab").resolve("image"))) {
                return p;
            }
        }
        throw new IllegalStateException("lab: cannot find the repository root (a folder with lab/image); set -Dpgplay.repo=DIR");
    }

    private static void run(List<String> command, long timeoutSeconds) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).inheritIO().start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("lab: " + String.join(" ", command) + " timed out after " + timeoutSeconds + " s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("lab: " + String.join(" ", command) + " failed with exit code " + process.exitValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("lab: cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("lab: interrupted while running " + String.join(" ", command), e);
        }
    }
}
