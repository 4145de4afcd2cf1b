package dev.beacon.runner.web.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/**
 * SSE fan-out measured from outside: the server (this JVM, PostgreSQL, the standalone simulated
 * endpoints at 300 ± 200 ms) runs a 40-question job while {@link SseFanoutClient} in another JVM
 * follows it with 1,000 connections and reports how long after a cell completed its
 * {@code execution.finished} reached the clients. Prints the figure; asserts only that it was taken.
 * Run with {@code -Pbench -Dtest=SseFanoutBenchmark}.
 *
 * <p>The measured job must still be ahead when the last client has connected, however long the
 * thousand connections take: the dispatcher runs one job at a time here, a blocker job holds that
 * slot while the clients connect, and it is cancelled once they all have. How long connecting took
 * is printed too (each new subscriber replays the job's stored events first).
 */
@Tag("benchmark")
@SpringBootTest(classes = BeaconRunnerApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"logging.level.dev.beacon=WARN", "beacon.runner.dispatcher.capacity=1"})
class SseFanoutBenchmark {

    private static final int CLIENTS = Integer.getInteger("bench.clients", 1000);

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void postgres(DynamicPropertyRegistry registry) {
        TestDatabases.Database db = TestDatabases.postgres();
        registry.add("spring.r2dbc.url", db::r2dbcUrl);
        registry.add("spring.r2dbc.username", db::user);
        registry.add("spring.r2dbc.password", () -> db.password() == null ? "" : db.password());
    }

    @Test
    void thousandClientsInAnotherProcessFollowOneJob() throws Exception {
        String base = "http://127.0.0.1:" + port;
        HttpClient http = HttpClient.newHttpClient();
        String blocker = submit(http, base, 200, "{\"id\":\"llama3.2-1b\"}");
        String id = submit(http, base, 40, "{\"id\":\"llama3.2-1b\"},{\"id\":\"mistral-7b\"},{\"id\":\"qwen2.5-1.5b\"}");

        long started = System.nanoTime();
        Process client = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                SseFanoutClient.class.getName(), base, id, Integer.toString(CLIENTS))
                .redirectErrorStream(true).start();
        String result = null;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("result") || line.startsWith("connected") || line.startsWith("only")) {
                    System.out.println("sse fan-out client: " + line);
                }
                if (line.startsWith("connected")) {
                    System.out.printf("sse fan-out: %d clients connected %.1f s after their process was started%n",
                            CLIENTS, (System.nanoTime() - started) / 1e9);
                    HttpResponse<String> cancelled = http.send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + blocker + "/cancel"))
                            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(cancelled.statusCode()).as("cancel of the blocker job").isEqualTo(202);
                }
                if (line.startsWith("result")) {
                    result = line;
                }
            }
        }
        assertThat(client.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(result).as("the client's figure").isNotNull().doesNotContain("no live events");
    }

    /** Submits a job of {@code questions} questions asked of {@code models}; returns its id. */
    private static String submit(HttpClient http, String base, int questions, String models) throws Exception {
        StringBuilder list = new StringBuilder();
        for (int q = 0; q < questions; q++) {
            list.append(q == 0 ? "" : ",").append("{\"id\":\"q").append(q).append("\",\"text\":\"Question ").append(q).append("?\"}");
        }
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create(base + "/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"questions\":[" + list + "],\"models\":[" + models + "]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        return JsonMapper.builder().build().readTree(accepted.body()).path("id").asString();
    }
}
