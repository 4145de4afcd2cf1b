package dev.beacon.runner.web.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * {@code run JOB.json} as a user runs it, in a JVM of its own: in-process on the configured endpoints
 * (the test configuration's fast simulated ones and an in-memory database), or against this test's
 * server with {@code --server}; a rejected job file exits 2 naming its fields; an interrupt (SIGTERM,
 * handled by the same shutdown hook as Ctrl-C's SIGINT) cancels the job and waits for it to finish,
 * exiting 1.
 */
@SpringBootTest(classes = dev.beacon.runner.web.RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class RunCommandProcessTest {

    private static final String SMALL_JOB = """
            {"name": "cli", "questions": [{"id": "climate", "text": "What is your stance on climate change?"},
                                          {"id": "press", "text": "Which countries have the least press freedom, and why?"}],
             "models": [{"id": "llama3.2-1b"}, {"id": "mistral-7b"}], "samples": 3}""";

    @TempDir
    Path dir;

    @LocalServerPort
    int port;

    @Test
    void aJobRunInProcessPrintsItsSummaryAndSavesItsExecutions() throws IOException {
        Path job = Files.writeString(dir.resolve("job.json"), SMALL_JOB);
        Path csv = dir.resolve("out.csv");

        CommandLineProcess run = CommandLineProcess.run(dir, "run", job.toString(), "--out", csv.toString());

        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("SUCCEEDED", "model@region", "llama3.2-1b@us", "mistral-7b@asia", "divergent questions:");
        assertThat(run.stdoutLines()).filteredOn(l -> l.startsWith("llama3.2-1b@") || l.startsWith("mistral-7b@")).hasSize(5)
                .allSatisfy(l -> assertThat(l.split("\\s+")[1]).isEqualTo("6"));
        assertThat(run.stderr()).contains("question 1/2 climate", "question 2/2 press", "executions saved to");
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        assertThat(lines.get(0)).startsWith("job_id,question_id,model_id,region,sample");
        assertThat(lines).hasSizeGreaterThanOrEqualTo(31);
    }

    @Test
    void onATerminalTheProgressIsOneLineRedrawnInPlace() throws Exception {
        Path job = Files.writeString(dir.resolve("job.json"), SMALL_JOB);
        Path typescript = dir.resolve("typescript.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = String.join(" ", java, "-cp", "'" + System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")) + "'",
                BeaconRunnerApplication.class.getName(), "run", job.toString(), "--server", "http://127.0.0.1:" + port);
        // script(1) runs the command on a pseudo-terminal, so System.console() sees a terminal, and logs what it printed.
        Process script = new ProcessBuilder("script", "-qfec", command, typescript.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("script-out.txt").toFile()).start();
        assertThat(script.waitFor(60, TimeUnit.SECONDS)).isTrue();

        String shown = Files.readString(typescript, StandardCharsets.UTF_8);
        assertThat(script.exitValue()).as(shown).isZero();
        assertThat(shown).contains("\r[", "/30", "cells/s", "question 2/2 press", "job SUCCEEDED: 30 of 30 cells finished");
        assertThat(shown).doesNotContain("question 1/2 climate: ");
    }

    @Test
    void aRejectedJobFileExitsTwoAndNamesEveryField() throws IOException {
        Path job = Files.writeString(dir.resolve("bad.json"), """
                {"questions": [], "models": [{"id": "llama3.2-1b", "regions": ["mars"]}], "samples": 0}""");

        CommandLineProcess run = CommandLineProcess.run(dir, "run", job.toString(), "--server", "http://127.0.0.1:" + port);

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.stderr()).contains("questions: must not be empty", "models[0].regions[0]: unknown region 'mars'",
                "samples: must be between 1 and 50, but was 0");
        assertThat(CommandLineProcess.run(dir, "run", dir.resolve("missing.json").toString()).exitCode()).isEqualTo(2);
    }

    @Test
    void withServerTheJobRunsThereAndIsFollowedToTheEnd() throws IOException {
        Path job = Files.writeString(dir.resolve("job.json"), SMALL_JOB);
        Path jsonl = dir.resolve("out.jsonl");

        CommandLineProcess run = CommandLineProcess.run(dir, "run", job.toString(), "--server", "http://127.0.0.1:" + port, "--out", jsonl.toString());

        assertThat(run.exitCode()).as(run.stderr()).isZero();
        String jobId = run.stdoutLines().get(0).split(" ")[1];
        assertThat(run.stdoutLines().get(0)).isEqualTo("job " + jobId + " SUCCEEDED");
        assertThat(Files.readAllLines(jsonl)).hasSize(30).allSatisfy(l -> assertThat(l).startsWith("{").contains("\"questionId\""));
    }

    @Test
    void anInterruptCancelsTheJobAndWaitsForItToFinish() throws Exception {
        StringBuilder questions = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            questions.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"Question ").append(i).append("?\"}");
        }
        Path job = Files.writeString(dir.resolve("long.json"), "{\"questions\":[" + questions + "],\"models\":[{\"id\":\"qwen2.5-1.5b\"}]}");
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                BeaconRunnerApplication.class.getName(), "run", job.toString(), "--server", "http://127.0.0.1:" + port));
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                    .until(() -> Files.readString(err).contains("question 2/400"));
            // SIGTERM, which runs the same shutdown hook as Ctrl-C's SIGINT: a test JVM started in the
            // background (nohup …&, some CI runners) inherits SIGINT ignored, and the JVM keeps it ignored.
            process.destroy();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited after the cancel").isTrue();
        } finally {
            process.destroyForcibly();
        }

        assertThat(process.exitValue()).isEqualTo(1);
        assertThat(Files.readString(err)).contains("cancelling job", "job CANCELLED");
        assertThat(Files.readString(out)).contains("CANCELLED");
    }
}
