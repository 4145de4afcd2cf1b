package dev.beacon.runner.web.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.web.BeaconRunnerApplication;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/**
 * Exporting a job of 100,000 executions from PostgreSQL as CSV, NDJSON and JSON through the real
 * server: rows per second (one pass), and in a second pass the heap the export keeps alive (sampled
 * after a full GC every 250 ms, minus the heap before it), which stays flat because the store reads
 * one question's rows at a time and the client here keeps nothing.
 * Prints figures, asserts only that every row arrived. Run with {@code -Pbench -Dtest=ExportBenchmark}.
 */
@Tag("benchmark")
@SpringBootTest(classes = BeaconRunnerApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.dispatcher.enabled=false", "beacon.runner.limits.max-questions=2000", "logging.level.dev.beacon=WARN"})
class ExportBenchmark {

    private static final int QUESTIONS = 1250;
    private static final int SAMPLES = 10;
    private static final List<String> ENDPOINTS = List.of("llama3.2-1b@us", "llama3.2-1b@eu", "llama3.2-1b@asia", "mistral-7b@eu",
            "mistral-7b@asia", "qwen2.5-1.5b@us", "qwen2.5-1.5b@eu", "qwen2.5-1.5b@asia");
    private static TestDatabases.Database db;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void postgres(DynamicPropertyRegistry registry) {
        db = TestDatabases.postgres();
        registry.add("spring.r2dbc.url", db::r2dbcUrl);
        registry.add("spring.r2dbc.username", db::user);
        registry.add("spring.r2dbc.password", () -> db.password() == null ? "" : db.password());
    }

    @Test
    void exportsAHundredThousandExecutionsInFlatMemory() throws Exception {
        StringBuilder questions = new StringBuilder();
        for (int q = 0; q < QUESTIONS; q++) {
            questions.append(q == 0 ? "" : ",").append("{\"id\":\"q").append(q).append("\",\"text\":\"Question ").append(q).append("?\"}");
        }
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + port;
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create(base + "/jobs")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"questions\":[" + questions + "],\"models\":[{\"id\":\"llama3.2-1b\"},"
                        + "{\"id\":\"mistral-7b\"},{\"id\":\"qwen2.5-1.5b\"}],\"samples\":" + SAMPLES + "}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String id = JsonMapper.builder().build().readTree(accepted.body()).path("id").asString();
        int rows = insertRows(id);

        for (String format : List.of("csv", "ndjson", "json")) {
            // Timing pass: nothing else running.
            long started = System.nanoTime();
            long[] counted = download(http, base + "/jobs/" + id + "/executions?format=" + format);
            double seconds = (System.nanoTime() - started) / 1e9;
            long expectedLines = switch (format) {
                case "csv" -> rows + 1;
                case "ndjson" -> rows;
                default -> 0;
            };
            assertThat(counted[1]).as(format + " lines").isEqualTo(expectedLines);
            // Memory pass: a full collection before each sample, so what is measured is the heap the export
            // keeps alive, not the garbage it leaves (which a GC reclaims whenever it likes).
            System.gc();
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            long before = memory.getHeapMemoryUsage().getUsed();
            AtomicLong peak = new AtomicLong(before);
            AtomicBoolean sampling = new AtomicBoolean(true);
            Thread sampler = new Thread(() -> {
                while (sampling.get()) {
                    System.gc();
                    peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.start();
            download(http, base + "/jobs/" + id + "/executions?format=" + format);
            sampling.set(false);
            sampler.join();
            System.out.printf(Locale.ROOT, "export %-6s %,d executions, %,d MB, in %.2f s = %,.0f rows/s; live heap above the start "
                    + "while exporting (after a GC, every 250 ms): peak %,d MB%n",
                    format, rows, counted[0] / (1024 * 1024), seconds, rows / seconds, (peak.get() - before) / (1024 * 1024));
        }
    }

    /** Reads the response as it comes, keeping nothing: {bytes, line feeds}. The client shares this JVM, so it must not hold the body. */
    private static long[] download(HttpClient http, String url) throws Exception {
        HttpResponse<java.io.InputStream> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(5)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        long bytes = 0;
        long lines = 0;
        byte[] chunk = new byte[64 * 1024];
        try (java.io.InputStream body = response.body()) {
            for (int n; (n = body.read(chunk)) > 0; ) {
                bytes += n;
                for (int i = 0; i < n; i++) {
                    if (chunk[i] == '\n') {
                        lines++;
                    }
                }
            }
        }
        return new long[] {bytes, lines};
    }

    /** Stores the job's 100,000 rows directly, in batches, as a finished job would have them. */
    private static int insertRows(String jobId) throws Exception {
        int n = 0;
        try (Connection c = DriverManager.getConnection("jdbc:" + db.r2dbcUrl().substring("r2dbc:".length()), db.user(), db.password());
             PreparedStatement insert = c.prepareStatement("INSERT INTO executions (job_id, question_id, model_id, region, sample, provider_id,"
                     + " status, attempts, output_json, receipt_json, completed_at, started_at, latency_ms)"
                     + " VALUES (?::uuid, ?, ?, ?, ?, 'sim', 'SUCCEEDED', 1, ?::jsonb, ?::jsonb, now(), now(), 120)")) {
            c.setAutoCommit(false);
            for (int q = 0; q < QUESTIONS; q++) {
                for (String endpoint : ENDPOINTS) {
                    String[] parts = endpoint.split("@");
                    for (int s = 0; s < SAMPLES; s++) {
                        insert.setString(1, jobId);
                        insert.setString(2, "q" + q);
                        insert.setString(3, parts[0]);
                        insert.setString(4, parts[1]);
                        insert.setInt(5, s);
                        insert.setString(6, "{\"text\":\"An answer of about a hundred characters, with \\\"quotes\\\", commas, and enough words to be typical.\","
                                + "\"finishReason\":\"stop\",\"usage\":{\"promptTokens\":12,\"completionTokens\":34}}");
                        insert.setString(7, "{\"requestSha256\":\"" + "a".repeat(64) + "\",\"outputSha256\":\"" + "b".repeat(64)
                                + "\",\"runnerKeyId\":\"0123456789abcdef\",\"signature\":\"" + "c".repeat(88) + "\",\"version\":2}");
                        insert.addBatch();
                        n++;
                    }
                }
                if (q % 50 == 49) {
                    insert.executeBatch();
                }
            }
            insert.executeBatch();
            c.commit();
        }
        return n;
    }
}
