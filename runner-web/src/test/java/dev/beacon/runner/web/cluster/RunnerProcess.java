package dev.beacon.runner.web.cluster;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One runner application in its own JVM ({@link BeaconRunnerApplication} on this JVM's class path),
 * as an operator would run it: configured by command-line arguments, killed with SIGKILL. Its output
 * goes to {@code target/cluster-logs/<name>.log}.
 */
final class RunnerProcess implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final int port;
    private final Process process;
    private final Path log;

    private RunnerProcess(String name, int port, Process process, Path log) {
        this.name = name;
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts the application; does not wait for it (see {@link #awaitReady}).
     *
     * @param jvmOptions options for the child JVM, e.g. {@code -Xmx256m}
     * @param args       Spring Boot arguments besides {@code --server.port}
     */
    static RunnerProcess start(String name, List<String> jvmOptions, List<String> args) {
        int port = freePort();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(testClassPath());
        command.add(BeaconRunnerApplication.class.getName());
        command.add("--server.port=" + port);
        command.addAll(args);
        try {
            Path dir = Files.createDirectories(Path.of("target", "cluster-logs"));
            Path log = dir.resolve(name + ".log");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            return new RunnerProcess(name, port, process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start runner " + name, e);
        }
    }

    /** Surefire runs tests from a manifest-only jar; the real class path is in its own property. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Blocks until {@code /actuator/health/readiness} answers 200; fails with the log's tail otherwise. */
    void awaitReady(Duration timeout) {
        HttpRequest probe = HttpRequest.newBuilder(URI.create(baseUrl() + "/actuator/health/readiness"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        try {
            org.awaitility.Awaitility.await("runner " + name + " ready").atMost(timeout).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("runner " + name + " exited with " + process.exitValue() + ":\n" + logTail());
                        }
                        try {
                            return HTTP.send(probe, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                        } catch (IOException e) {
                            return false; // not listening yet
                        }
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new IllegalStateException("runner " + name + " not ready within " + timeout + ":\n" + logTail(), e);
        }
    }

    /** SIGKILL: no shutdown hook, no lease release; blocks until the process is gone. */
    void kill() {
        process.destroyForcibly();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("runner " + name + " did not die");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGSTOP (paused, as in a long GC pause or a frozen VM) or SIGCONT (resumed). */
    void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The whole output of the process so far. */
    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last lines of the process's output, for failure messages. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            signal("CONT"); // a stopped process would not die until continued
            kill();
        }
    }
}
