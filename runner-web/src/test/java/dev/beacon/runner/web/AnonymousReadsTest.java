package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.r2dbc.spi.ConnectionFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import tools.jackson.databind.JsonNode;

/**
 * With tokens configured and reads open, what anonymous callers can read never shows what a provider
 * sent or where it runs: two real providers answer 500 and 400 with bodies full of a secret-looking
 * marker, an internal host name, an address and a stack frame; none of it reaches the stored error
 * messages, the execution views, the events, {@code /endpoints} or health. Health details and provider
 * URLs are shown to a caller with a token only.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.security.tokens[0]=reader-token",
        "beacon.runner.security.open-reads=true",
        "management.endpoints.web.exposure.include=health",
        "management.endpoint.health.probes.enabled=true",
        "management.endpoint.health.show-details=when-authorized",
        "management.endpoint.health.group.readiness.include=readinessState,beaconDatabase,beaconDispatcher",
        "management.health.r2dbc.enabled=false"})
class AnonymousReadsTest {

    static final String MARKER = "SECRET-MARKER-7731";
    /** Everything a careless provider might echo: the marker, a host and an address of its own network, a stack frame. */
    static final List<String> LEAKS = List.of(MARKER, "gpu-node-7.internal", "10.20.30.40", "Handler.java");

    static final DisposableServer PROVIDER = HttpServer.create().host("127.0.0.1").port(0)
            .route(routes -> routes
                    .post("/p500/v1/chat/completions", (request, response) -> request.receive().then(response.status(500)
                            .header("Content-Type", "application/json")
                            .sendString(Mono.just("{\"error\":\"" + MARKER + " out of memory on gpu-node-7.internal (10.20.30.40)\"}"),
                                    StandardCharsets.UTF_8).then()))
                    .post("/p400/v1/chat/completions", (request, response) -> request.receive().then(response.status(400)
                            .header("Content-Type", "application/json")
                            .sendString(Mono.just("{\"error\":{\"message\":\"" + MARKER + " bad request\","
                                    + "\"trace\":\"at com.provider.Handler.handle(Handler.java:42)\"}}"), StandardCharsets.UTF_8).then())))
            .bindNow();

    @DynamicPropertySource
    static void providers(DynamicPropertyRegistry registry) {
        String base = "http://127.0.0.1:" + PROVIDER.port();
        for (int i = 0; i < 2; i++) {
            String status = i == 0 ? "500" : "400";
            String endpoint = "beacon.runner.endpoints[" + i + "]";
            registry.add(endpoint + ".model", () -> "m" + status);
            registry.add(endpoint + ".region", () -> "eu");
            registry.add(endpoint + ".providers[0].id", () -> "p" + status);
            registry.add(endpoint + ".providers[0].type", () -> "openai");
            registry.add(endpoint + ".providers[0].url", () -> base + "/p" + status);
            registry.add(endpoint + ".providers[0].api-key", () -> "sk-" + MARKER);
        }
    }

    @AfterAll
    static void stopProvider() {
        PROVIDER.disposeNow();
    }

    @LocalServerPort
    int port;

    @Autowired
    ConnectionFactory connectionFactory;

    RunnerClient anonymous;
    RunnerClient withToken;

    @BeforeEach
    void clients() {
        anonymous = new RunnerClient(port, "", null);
        withToken = new RunnerClient(port, "", "reader-token");
    }

    @Test
    void providerBodiesAndMachineDetailsReachNoAnonymousRead() {
        RawHttp.Response accepted = withToken.submit("""
                {"questions":[{"id":"q1","text":"Hello?"}],"models":[{"id":"m500"},{"id":"m400"}],"limits":{"maxAttempts":1}}""", null);
        assertThat(accepted.status()).isEqualTo(202);
        String id = accepted.json().path("id").asString();

        List<ServerSentEvent<String>> events = anonymous.eventsUntilEnd(id, null, null, Duration.ofSeconds(60));
        assertThat(events).last().satisfies(e -> assertThat(e.event()).isEqualTo("job.finished"));
        events.forEach(e -> assertNoLeak("event " + e.event(), e.data()));

        RawHttp.Response executions = anonymous.get("/jobs/" + id + "/executions");
        assertNoLeak("executions", executions.body());
        Map<String, JsonNode> errors = new java.util.HashMap<>();
        executions.json().valueStream().forEach(e -> errors.put(e.path("modelId").asString(), e.path("error")));
        assertThat(errors.get("m500").path("code").asString()).isEqualTo("HTTP_500");
        assertThat(errors.get("m500").path("message").asString()).isEqualTo("provider 'p500': answered HTTP 500");
        assertThat(errors.get("m400").path("code").asString()).isEqualTo("HTTP_400");
        assertThat(errors.get("m400").path("message").asString()).isEqualTo("provider 'p400': answered HTTP 400");
        assertNoLeak("job view", anonymous.get("/jobs/" + id).body());

        List<String> stored = DatabaseClient.create(connectionFactory).sql("SELECT error_message FROM executions WHERE error_message IS NOT NULL")
                .map(row -> row.get(0, String.class)).all().collectList().block(Duration.ofSeconds(10));
        assertThat(stored).hasSize(2).allSatisfy(message -> assertNoLeak("executions.error_message", message));

        RawHttp.Response endpoints = anonymous.get("/endpoints");
        assertThat(endpoints.status()).isEqualTo(200);
        assertNoLeak("/endpoints", endpoints.body());
        JsonNode provider = endpoints.json().get(0).path("providers").get(0);
        assertThat(provider.path("lastError").path("code").asString()).isEqualTo("HTTP_500");
        assertThat(provider.has("url")).as("an anonymous caller is not told where providers run").isFalse();
        assertThat(endpoints.body()).doesNotContain("127.0.0.1");
        JsonNode authorised = withToken.get("/endpoints").json().get(0).path("providers").get(0);
        assertThat(authorised.path("url").asString()).isEqualTo("http://127.0.0.1:" + PROVIDER.port() + "/p500");
        assertNoLeak("/endpoints with a token", withToken.get("/endpoints").body());

        RawHttp.Response health = anonymous.get("/actuator/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().path("status").asString()).isEqualTo("UP");
        assertThat(health.json().has("components")).as("no components for an anonymous caller").isFalse();
        assertNoLeak("health", health.body());
        RawHttp.Response detailed = withToken.get("/actuator/health");
        JsonNode lastError = detailed.json().path("components").path("beaconEndpoints").path("details").path("m500@eu").path("lastError");
        assertThat(lastError.asString()).isEqualTo("HTTP_500: provider 'p500': answered HTTP 500");
        assertNoLeak("health with a token", detailed.body());
    }

    @Test
    void healthDetailsAreHiddenFromAnonymousCallersAndShownWithAToken() {
        RawHttp http = new RawHttp(port);

        JsonNode anonymousHealth = http.get("/actuator/health", Map.of()).json();
        assertThat(anonymousHealth.has("components")).isFalse();
        assertThat(anonymousHealth.has("details")).isFalse();
        JsonNode wrongToken = http.get("/actuator/health", Map.of("Authorization", "Bearer not-a-token")).json();
        assertThat(wrongToken.has("components")).isFalse();
        RawHttp.Response readiness = http.get("/actuator/health/readiness", Map.of());
        assertThat(readiness.status()).isEqualTo(200);
        assertThat(readiness.json().path("status").asString()).isEqualTo("UP");
        assertThat(readiness.json().has("components")).isFalse();

        JsonNode withTokenHealth = http.get("/actuator/health", Map.of("Authorization", "Bearer reader-token")).json();
        assertThat(withTokenHealth.path("components").path("beaconDispatcher").path("details").has("instanceId")).isTrue();
        assertThat(withTokenHealth.path("components").path("beaconDatabase").path("status").asString()).isEqualTo("UP");
        JsonNode readinessWithToken = http.get("/actuator/health/readiness", Map.of("Authorization", "Bearer reader-token")).json();
        assertThat(readinessWithToken.path("components").has("beaconDatabase")).isTrue();
    }

    private static void assertNoLeak(String where, String text) {
        for (String leak : LEAKS) {
            assertThat(text).as(where + " must not show '" + leak + "'").doesNotContain(leak);
        }
    }
}
