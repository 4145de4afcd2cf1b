package dev.beacon.runner.web.cli;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link BeaconRunnerApplication}'s {@code main} in a JVM of its own on this JVM's test class
 * path, as a user runs the jar, and waits for it to exit.
 *
 * @param exitCode the process's exit code
 * @param stdout   everything it wrote to standard output
 * @param stderr   everything it wrote to standard error
 */
record CommandLineProcess(int exitCode, String stdout, String stderr) {

    /** Runs the application with {@code args}; fails if it has not exited within a minute. */
    static CommandLineProcess run(Path workDir, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(testClassPath());
        command.add(BeaconRunnerApplication.class.getName());
        command.addAll(List.of(args));
        try {
            Path out = Files.createTempFile(workDir, "stdout", ".txt");
            Path err = Files.createTempFile(workDir, "stderr", ".txt");
            Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("the command line did not exit within 60 s: " + String.join(" ", args)
                        + "\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new CommandLineProcess(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Surefire runs tests from a manifest-only jar; the real class path is in its own property. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    /** The lines of standard output. */
    List<String> stdoutLines() {
        return stdout.lines().toList();
    }
}
