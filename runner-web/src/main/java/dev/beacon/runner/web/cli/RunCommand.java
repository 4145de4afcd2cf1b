package dev.beacon.runner.web.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code run JOB.json [--server URL] [--token T] [--out FILE]} (README, API: "Command line"): submits the job — to
 * {@code --server}, or to a runner started in this process on the configured endpoints and the
 * embedded default database — follows its events with a progress display on stderr, prints a
 * summary table on stdout, and saves the executions to {@code --out} ({@code .jsonl} or {@code .csv}).
 * Ctrl-C (or SIGTERM) cancels the job and waits for its {@code job.finished} before exiting.
 */
@Command(name = "run",
        description = "Runs a job and follows it to the end: in this process on the configured endpoints and the embedded "
                + "database, or on a server with --server.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:the job SUCCEEDED or is PARTIAL", "1:the job FAILED, was CANCELLED or TIMED_OUT, or the server could not be used",
                "2:the job file was rejected (its problems are listed with their fields) or cannot be read"})
final class RunCommand implements Callable<Integer> {

    static final int SUCCEEDED = 0;
    static final int NOT_SUCCEEDED = 1;
    static final int REJECTED = 2;

    private static final Set<String> GOOD = Set.of("SUCCEEDED", "PARTIAL");

    @Parameters(index = "0", paramLabel = "JOB.json", description = "The job, as POST /jobs takes it.")
    Path job;

    @Option(names = "--server", paramLabel = "URL", description = "A running runner to submit to, e.g. http://127.0.0.1:8080.")
    @Nullable URI server;

    @Option(names = "--token", paramLabel = "T", description = "The server's API token (beacon.runner.security.tokens).")
    @Nullable String token;

    @Option(names = "--out", paramLabel = "FILE", description = "Where to save the executions: FILE.jsonl (NDJSON) or FILE.csv.")
    @Nullable Path out;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Spec
    CommandSpec spec;

    /** The exit code, once the command is done; what a Ctrl-C shutdown ends the process with. */
    private final AtomicInteger exitCode = new AtomicInteger(NOT_SUCCEEDED);
    private final CountDownLatch done = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        try {
            int code = execute();
            exitCode.set(code);
            return code;
        } finally {
            done.countDown();
        }
    }

    private int execute() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        String format = out == null ? null : exportFormat(out);
        if (out != null && format == null) {
            stderr.println("--out must end in .jsonl or .csv, but was " + out);
            stderr.flush();
            return REJECTED;
        }
        String body;
        try {
            body = Files.readString(job, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            stderr.println("cannot read " + job + ": no such file");
            stderr.flush();
            return REJECTED;
        } catch (IOException e) {
            stderr.println("cannot read " + job + ": " + e.getMessage());
            stderr.flush();
            return REJECTED;
        }
        if (server != null) {
            return run(new RunnerApi(server, token), body, format, stdout, stderr);
        }
        try (LocalRunner local = LocalRunner.start()) {
            return run(new RunnerApi(local.url(), local.token()), body, format, stdout, stderr);
        }
    }

    /** @param format the export format of {@link #out}, {@code null} exactly when there is no {@code --out} */
    private int run(RunnerApi api, String body, @Nullable String format, PrintWriter stdout, PrintWriter stderr) throws Exception {
        RunnerApi.Reply submitted;
        try {
            submitted = api.submit(body);
        } catch (IOException e) {
            stderr.println("cannot reach the runner: " + e.getMessage());
            stderr.flush();
            return NOT_SUCCEEDED;
        }
        if (submitted.status() == 400 || submitted.status() == 413 || submitted.status() == 415) {
            printProblems(submitted, stderr);
            return REJECTED;
        }
        if (!submitted.ok()) {
            stderr.println("the runner refused the job: HTTP " + submitted.status() + " " + submitted.body());
            stderr.flush();
            return NOT_SUCCEEDED;
        }
        String jobId = submitted.json().path("id").asString();
        stderr.println("job " + jobId + " submitted: " + submitted.json().path("cells").asInt() + " cells");
        stderr.flush();

        AtomicReference<String> status = new AtomicReference<>();
        CountDownLatch finished = new CountDownLatch(1);
        Thread cancelOnExit = new Thread(() -> {
            cancelAndWait(api, jobId, finished, stderr);
            // The JVM is shutting down (Ctrl-C): let the command print its summary, then end with its
            // exit code (1 for the cancelled job) rather than the signal's.
            try {
                done.await(2, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(exitCode.get());
        }, "beacon-run-cancel");
        Runtime.getRuntime().addShutdownHook(cancelOnExit);
        RunProgress progress = new RunProgress(stderr, System.console() != null);
        RunSummary summary = new RunSummary();
        try {
            api.follow(jobId, event -> {
                progress.on(event);
                summary.on(event);
                if (event.type().equals("job.finished")) {
                    status.set(event.data().path("status").asString());
                }
            });
        } finally {
            finished.countDown();
            try {
                // Following is over (the job finished, or the stream broke): exiting must not cancel the job.
                Runtime.getRuntime().removeShutdownHook(cancelOnExit);
            } catch (IllegalStateException alreadyShuttingDown) {
                // Ctrl-C came meanwhile: the hook is running and lets this thread finish.
            }
        }
        if (status.get() == null) {
            stderr.println("the event stream ended before job.finished");
            stderr.flush();
            return NOT_SUCCEEDED;
        }
        RunnerApi.Reply comparison = api.get("jobs/" + jobId + "/comparison");
        summary.print(stdout, jobId, status.get(), comparison.ok() ? comparison.json() : null);
        if (out != null && format != null) {
            int code = api.download(jobId, format, out);
            stderr.println(code == 200 ? "executions saved to " + out : "could not save the executions: HTTP " + code);
            stderr.flush();
        }
        return GOOD.contains(status.get()) ? SUCCEEDED : NOT_SUCCEEDED;
    }

    /** On Ctrl-C: asks the runner to cancel the job, then lets the main thread read on to {@code job.finished}. */
    private static void cancelAndWait(RunnerApi api, String jobId, CountDownLatch finished, PrintWriter stderr) {
        try {
            stderr.println();
            stderr.println("cancelling job " + jobId + " …");
            stderr.flush();
            api.cancel(jobId);
            if (!finished.await(2, TimeUnit.MINUTES)) {
                stderr.println("job " + jobId + " did not finish within 2 minutes of the cancel");
                stderr.flush();
            }
        } catch (IOException e) {
            stderr.println("could not cancel job " + jobId + ": " + e.getMessage());
            stderr.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void printProblems(RunnerApi.Reply reply, PrintWriter stderr) {
        JsonNode problem;
        try {
            problem = reply.json();
        } catch (RuntimeException e) {
            stderr.println("the job was rejected: HTTP " + reply.status());
            stderr.flush();
            return;
        }
        stderr.println("the job was rejected: " + problem.path("detail").asString(problem.path("title").asString("")));
        for (JsonNode error : problem.path("errors")) {
            stderr.println("  " + error.path("field").asString() + ": " + error.path("message").asString());
        }
        stderr.flush();
    }

    /** The export format for a file name, or {@code null} when its extension is neither. */
    static @Nullable String exportFormat(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".jsonl") ? "ndjson" : name.endsWith(".csv") ? "csv" : null;
    }
}
