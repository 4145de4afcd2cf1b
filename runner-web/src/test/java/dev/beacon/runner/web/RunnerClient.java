package dev.beacon.runner.web;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;

/** Talks to a running runner over real HTTP: submissions, views, and event streams. */
final class RunnerClient {

    static final ParameterizedTypeReference<ServerSentEvent<String>> SSE = new ParameterizedTypeReference<>() {
    };

    final RawHttp http;
    final WebClient web;
    private final String base;
    private final Map<String, String> auth;

    RunnerClient(int port, String basePath, String token) {
        // Unpooled for the reason RawHttp gives: never a connection to a closed context's server.
        this(port, basePath, token, WebClient.builder().baseUrl("http://localhost:" + port)
                .clientConnector(new ReactorClientHttpConnector(HttpClient.create(ConnectionProvider.newConnection())))
                .codecs(c -> c.defaultCodecs().maxInMemorySize(16 * 1024 * 1024)).build());
    }

    RunnerClient(int port, String basePath, String token, WebClient web) {
        this.http = new RawHttp(port);
        this.web = web;
        this.base = basePath;
        this.auth = token == null ? Map.of() : Map.of("Authorization", "Bearer " + token);
    }

    static String referenceJob() {
        try {
            return Files.readString(Path.of("../config/examples/reference-job.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    RawHttp.Response submit(String json, String idempotencyKey) {
        Map<String, String> headers = new LinkedHashMap<>(auth);
        if (idempotencyKey != null) {
            headers.put("Idempotency-Key", idempotencyKey);
        }
        return http.postJson(base + "/jobs", json, headers);
    }

    RawHttp.Response get(String path) {
        return http.get(base + path, auth);
    }

    RawHttp.Response cancel(String id) {
        return http.send("POST", base + "/jobs/" + id + "/cancel", auth, null);
    }

    JsonNode job(String id) {
        return get("/jobs/" + id).json();
    }

    List<JsonNode> executions(String id) {
        return get("/jobs/" + id + "/executions").json().valueStream().toList();
    }

    /** The job's event stream, comments (keep-alives) included; {@code lastEventId} and {@code after} may be null. */
    Flux<ServerSentEvent<String>> events(String id, Long lastEventId, Long after) {
        return web.get()
                .uri(base + "/jobs/" + id + "/events" + (after == null ? "" : "?after=" + after))
                .accept(MediaType.TEXT_EVENT_STREAM)
                .headers(h -> {
                    auth.forEach(h::set);
                    if (lastEventId != null) {
                        h.set("Last-Event-ID", Long.toString(lastEventId));
                    }
                })
                .retrieve()
                .bodyToFlux(SSE);
    }

    /** Only the events (no comments), until the stream completes; fails the test after {@code timeout}. */
    List<ServerSentEvent<String>> eventsUntilEnd(String id, Long lastEventId, Long after, Duration timeout) {
        return events(id, lastEventId, after).filter(e -> e.event() != null).collectList().block(timeout);
    }

    static JsonNode data(ServerSentEvent<String> event) {
        return RawHttp.JSON.readTree(event.data());
    }
}
