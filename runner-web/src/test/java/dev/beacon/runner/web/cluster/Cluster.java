package dev.beacon.runner.web.cluster;

import dev.beacon.runner.persistence.testing.TcpRelay;
import dev.beacon.runner.persistence.testing.TestDatabases;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Runner processes sharing one new PostgreSQL database (embedded, or {@code BEACON_TEST_PG_URL}) and one
 * {@link LoopbackOpenAi} that serves the reference job's 8 endpoints. Talks to the runners over HTTP
 * and reads the database directly. Closing it kills every process it started.
 */
final class Cluster implements AutoCloseable {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final List<String> ENDPOINTS = List.of("llama3.2-1b_us", "llama3.2-1b_eu", "llama3.2-1b_asia", "mistral-7b_eu",
            "mistral-7b_asia", "qwen2.5-1.5b_us", "qwen2.5-1.5b_eu", "qwen2.5-1.5b_asia");
    static final ParameterizedTypeReference<ServerSentEvent<String>> SSE = new ParameterizedTypeReference<>() {
    };
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final TestDatabases.Database db;
    final LoopbackOpenAi provider;
    final DatabaseClient sql;
    private final Path endpointsFile;
    private final List<RunnerProcess> processes = new CopyOnWriteArrayList<>();

    Cluster() {
        this(TestDatabases.postgres());
    }

    /** A cluster on {@code db} (migrated), which it closes with itself. */
    Cluster(TestDatabases.Database db) {
        this.db = db;
        this.provider = new LoopbackOpenAi();
        this.sql = DatabaseClient.create(db.connectionFactory());
        this.endpointsFile = writeEndpoints(provider.baseUrl());
    }

    /** The whole {@code beacon.runner.endpoints} list: a list cannot be merged from two sources. */
    private static Path writeEndpoints(String baseUrl) {
        StringBuilder yaml = new StringBuilder("beacon:\n  runner:\n    endpoints:\n");
        for (String endpoint : ENDPOINTS) {
            String[] parts = endpoint.split("_");
            yaml.append("      - model: ").append(parts[0]).append('\n')
                    .append("        region: ").append(parts[1]).append('\n')
                    .append("        providers:\n")
                    .append("          - id: oa-").append(parts[0].replace('.', '-')).append('-').append(parts[1]).append('\n')
                    .append("            type: openai\n")
                    .append("            url: ").append(baseUrl).append('/').append(endpoint).append('\n')
                    .append("            max-concurrency: 64\n")
                    .append("            timeout: PT20S\n");
        }
        try {
            Path file = Files.createTempFile("beacon-cluster-endpoints", ".yaml");
            Files.writeString(file, yaml);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a runner named {@code id} (its instance id) with a 6 s lease, a 2 s heartbeat and a 0.5 s
     * poll, plus {@code extraArgs}; does not wait for readiness. Runs stop 5 s after their last
     * renewal, so that a renewal slowed by a loaded machine does not stop a run, while a takeover
     * after a crash still comes within seconds.
     */
    RunnerProcess start(String id, List<String> jvmOptions, String... extraArgs) {
        return start(db.r2dbcUrl(), id, jvmOptions, extraArgs);
    }

    /** As {@link #start(String, List, String...)}, reaching the database only through {@code relay}. */
    RunnerProcess startBehind(TcpRelay relay, String id, List<String> jvmOptions, String... extraArgs) {
        Object database = io.r2dbc.spi.ConnectionFactoryOptions.parse(db.r2dbcUrl()).getRequiredValue(io.r2dbc.spi.ConnectionFactoryOptions.DATABASE);
        return start("r2dbc:postgresql://127.0.0.1:" + relay.port() + "/" + database, id, jvmOptions, extraArgs);
    }

    /** A relay in front of this cluster's database, for a runner to reach it through (see {@link #startBehind}). */
    TcpRelay relay() {
        var options = io.r2dbc.spi.ConnectionFactoryOptions.parse(db.r2dbcUrl());
        return new TcpRelay((String) options.getRequiredValue(io.r2dbc.spi.ConnectionFactoryOptions.HOST),
                Integer.parseInt(String.valueOf(options.getRequiredValue(io.r2dbc.spi.ConnectionFactoryOptions.PORT))));
    }

    private RunnerProcess start(String r2dbcUrl, String id, List<String> jvmOptions, String... extraArgs) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("spring.r2dbc.url", r2dbcUrl);
        properties.put("spring.r2dbc.username", db.user());
        properties.put("spring.r2dbc.password", db.password() == null ? "" : db.password());
        properties.put("spring.config.additional-location", "file:" + endpointsFile.toAbsolutePath());
        properties.put("beacon.runner.dispatcher.instance-id", id);
        properties.put("beacon.runner.dispatcher.lease", "PT6S");
        properties.put("beacon.runner.dispatcher.heartbeat", "PT2S");
        properties.put("beacon.runner.dispatcher.poll-interval", "PT0.5S");
        properties.put("beacon.runner.dispatcher.capacity", "8");
        properties.put("beacon.runner.web.sse-keep-alive", "PT1S");
        properties.put("spring.main.banner-mode", "off");
        // An extra --name=value replaces the default: a property given twice on the command line would
        // reach Spring as one comma-joined value.
        for (String arg : extraArgs) {
            int eq = arg.indexOf('=');
            if (!arg.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("extra args must be --name=value, but was " + arg);
            }
            properties.put(arg.substring(2, eq), arg.substring(eq + 1));
        }
        List<String> args = new ArrayList<>();
        properties.forEach((name, value) -> args.add("--" + name + "=" + value));
        RunnerProcess process = RunnerProcess.start(id, jvmOptions, args);
        processes.add(process);
        return process;
    }

    /** Options for a quickly starting child JVM that still runs a small load well. */
    static List<String> smallJvm() {
        return List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");
    }

    /**
     * A job of {@code questions} questions asked of all 8 endpoints; question texts start with {@code tag}
     * so that the provider's per-cell counts of different jobs never mix.
     */
    static String job(String tag, int questions) {
        ObjectNode job = JSON.createObjectNode();
        job.put("name", tag);
        ArrayNode qs = job.putArray("questions");
        for (int i = 0; i < questions; i++) {
            qs.addObject().put("id", "q" + i).put("text", questionText(tag, i));
        }
        ArrayNode models = job.putArray("models");
        models.addObject().put("id", "llama3.2-1b").putArray("regions").add("us").add("eu").add("asia");
        models.addObject().put("id", "mistral-7b").putArray("regions").add("eu").add("asia");
        models.addObject().put("id", "qwen2.5-1.5b").putArray("regions").add("us").add("eu").add("asia");
        job.putObject("limits").put("concurrency", 8).put("maxAttempts", 1);
        return JSON.writeValueAsString(job);
    }

    static String questionText(String tag, int index) {
        return tag + " question " + index;
    }

    /** Every cell of a {@link #job} as {@link LoopbackOpenAi#cell} keys. */
    static List<String> cells(String tag, int questions) {
        List<String> cells = new ArrayList<>();
        for (int i = 0; i < questions; i++) {
            for (String endpoint : ENDPOINTS) {
                cells.add(LoopbackOpenAi.cell(endpoint, questionText(tag, i)));
            }
        }
        return cells;
    }

    /** Submits a job to {@code runner}; returns its id. */
    String submit(RunnerProcess runner, String json) {
        HttpResponse<String> response = send(HttpRequest.newBuilder(URI.create(runner.baseUrl() + "/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
        if (response.statusCode() != 202) {
            throw new IllegalStateException("submit to " + runner.name() + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body()).path("id").asString();
    }

    /** Asks {@code runner} to cancel a job; returns the HTTP status. */
    int cancel(RunnerProcess runner, String jobId) {
        return send(HttpRequest.newBuilder(URI.create(runner.baseUrl() + "/jobs/" + jobId + "/cancel"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode();
    }

    JsonNode view(RunnerProcess runner, String jobId) {
        return JSON.readTree(send(HttpRequest.newBuilder(URI.create(runner.baseUrl() + "/jobs/" + jobId)).GET().build()).body());
    }

    /** The job's server-sent events from {@code runner} (events only, no comments), from the start. */
    static Flux<ServerSentEvent<String>> events(RunnerProcess runner, String jobId) {
        return WebClient.create(runner.baseUrl()).get().uri("/jobs/{id}/events", jobId)
                .accept(MediaType.TEXT_EVENT_STREAM)
                .retrieve()
                .bodyToFlux(SSE)
                .filter(e -> e.event() != null);
    }

    static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ direct SQL (blocking: test thread only)

    /** Rows of a query as column maps. */
    List<Map<String, Object>> rows(String query, Map<String, Object> binds) {
        DatabaseClient.GenericExecuteSpec spec = sql.sql(query);
        for (var e : binds.entrySet()) {
            spec = spec.bind(e.getKey(), e.getValue());
        }
        return spec.fetch().all().map(m -> (Map<String, Object>) new LinkedHashMap<>(m)).collectList().block(Duration.ofSeconds(30));
    }

    long count(String query, Map<String, Object> binds) {
        return ((Number) rows(query, binds).get(0).values().iterator().next()).longValue();
    }

    /** Status of each job, by id. */
    Map<String, String> statuses(Collection<String> jobIds) {
        Map<String, String> statuses = new LinkedHashMap<>();
        for (var row : rows("SELECT id::text AS id, status FROM jobs", Map.of())) {
            if (jobIds.contains((String) row.get("id"))) {
                statuses.put((String) row.get("id"), (String) row.get("status"));
            }
        }
        return statuses;
    }

    /** Blocks until every job is terminal; returns the statuses. */
    Map<String, String> awaitTerminal(Collection<String> jobIds, Duration timeout) {
        try {
            return org.awaitility.Awaitility.await("jobs terminal").atMost(timeout).pollInterval(Duration.ofMillis(100))
                    .until(() -> statuses(jobIds), statuses -> statuses.size() == jobIds.size()
                            && statuses.values().stream().noneMatch(s -> s.equals("QUEUED") || s.equals("RUNNING")));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("jobs not terminal within " + timeout + ": " + statuses(jobIds) + logs(), e);
        }
    }

    /** The cells of a {@link #job} that have an execution row, as {@link LoopbackOpenAi#cell} keys. */
    List<String> storedCells(String jobId, String tag) {
        List<String> cells = new ArrayList<>();
        for (var row : rows("SELECT question_id, model_id, region FROM executions WHERE job_id = :id",
                Map.of("id", java.util.UUID.fromString(jobId)))) {
            int index = Integer.parseInt(((String) row.get("question_id")).substring(1));
            cells.add(LoopbackOpenAi.cell(row.get("model_id") + "_" + row.get("region"), questionText(tag, index)));
        }
        return cells;
    }

    String logs() {
        StringBuilder text = new StringBuilder();
        for (RunnerProcess p : processes) {
            text.append("\n--- ").append(p.name()).append(" ---\n").append(p.logTail());
        }
        return text.toString();
    }

    @Override
    public void close() {
        for (RunnerProcess p : processes) {
            try {
                p.close();
            } catch (RuntimeException e) {
                // keep killing the others
            }
        }
        processes.clear();
        provider.close();
        db.close();
    }
}
