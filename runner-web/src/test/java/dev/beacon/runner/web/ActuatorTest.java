package dev.beacon.runner.web;

import dev.beacon.runner.persistence.testing.TcpRelay;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.persistence.testing.TestDatabases;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * What operators see through Actuator: readiness follows the database (cut or black-holed through a
 * relay, and restored) and answers promptly while it is gone, liveness never follows it, the
 * dispatcher and endpoints appear in health, and after a job Prometheus shows per-model, per-region
 * execution counts and latencies.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "management.endpoints.web.exposure.include=health,prometheus",
        "management.endpoint.health.probes.enabled=true",
        "management.endpoint.health.show-details=always",
        "management.endpoint.health.group.readiness.include=readinessState,beaconDatabase,beaconDispatcher",
        // As in the standalone configuration: beaconDatabase checks the database with a time limit.
        "management.health.r2dbc.enabled=false",
        "spring.r2dbc.pool.max-acquire-time=2s",
        "spring.r2dbc.pool.max-create-connection-time=2s",
        "spring.r2dbc.pool.max-validation-time=2s",
        "spring.r2dbc.pool.validation-query=SELECT 1",
        "beacon.runner.dispatcher.poll-interval=PT0.5S"})
// Closed after the class: its database relay is gone then, and a cached context would keep retrying it.
@DirtiesContext
class ActuatorTest {

    private static TcpRelay database;

    @LocalServerPort
    int port;

    RunnerClient client;

    @DynamicPropertySource
    static void postgresBehindARelay(DynamicPropertyRegistry registry) throws IOException {
        TestDatabases.Database db = TestDatabases.postgres();
        URI url = URI.create(db.r2dbcUrl().substring("r2dbc:".length()));
        database = new TcpRelay(url.getHost(), url.getPort());
        registry.add("spring.r2dbc.url", () -> "r2dbc:postgresql://127.0.0.1:" + database.port() + url.getRawPath()
                + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
        registry.add("spring.r2dbc.username", db::user);
        registry.add("spring.r2dbc.password", () -> db.password() == null ? "" : db.password());
    }

    @AfterAll
    static void closeRelay() throws IOException {
        database.close();
    }

    @BeforeEach
    void client() {
        client = new RunnerClient(port, "", null);
    }

    @Test
    void readinessGoesDownWhileTheDatabaseIsUnreachableAndComesBack() throws IOException {
        await().ignoreExceptions().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(client.get("/actuator/health/readiness").status()).isEqualTo(200));
        RawHttp.Response health = client.get("/actuator/health");
        assertThat(health.json().path("components").path("beaconDispatcher").path("status").asString()).isEqualTo("UP");
        assertThat(health.json().path("components").path("beaconEndpoints").path("details").has("mistral-7b@eu")).isTrue();

        database.cut();
        try {
            await().ignoreExceptions().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                RawHttp.Response readiness = client.get("/actuator/health/readiness");
                assertThat(readiness.status()).isEqualTo(503);
                assertThat(readiness.json().path("components").path("beaconDatabase").path("status").asString()).isEqualTo("DOWN");
            });
            // Liveness stays up: the instance is fine, its database is not.
            assertThat(client.get("/actuator/health/liveness").status()).isEqualTo(200);
        } finally {
            database.restore();
        }
        await().ignoreExceptions().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(client.get("/actuator/health/readiness").status()).isEqualTo(200));
    }

    @Test
    void readinessAnswersDownPromptlyWhileTheDatabaseIsBlackHoledAndLivenessStaysUp() throws IOException {
        await().ignoreExceptions().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(client.get("/actuator/health/readiness").status()).isEqualTo(200));
        // Gives up on an answer after 10 s: a readiness check that hangs fails the test instead of waiting with it.
        RawHttp patient = new RawHttp(port, Duration.ofSeconds(10));

        database.blackHole();
        try {
            long slowestMs = 0;
            for (int i = 0; i < 5; i++) {
                long started = System.nanoTime();
                RawHttp.Response readiness = patient.get("/actuator/health/readiness", java.util.Map.of());
                slowestMs = Math.max(slowestMs, (System.nanoTime() - started) / 1_000_000);
                assertThat(readiness.status()).isEqualTo(503);
                assertThat(readiness.json().path("status").asString()).isEqualTo("DOWN");
                assertThat(readiness.json().path("components").path("beaconDatabase").path("status").asString()).isEqualTo("DOWN");
                assertThat(patient.get("/actuator/health/liveness", java.util.Map.of()).status()).isEqualTo(200);
            }
            // A figure for the record, not an assertion: wall time depends on the machine.
            System.out.println("readiness during a black-holed database: slowest of 5 answers " + slowestMs + " ms");
        } finally {
            database.restore();
        }
        await().ignoreExceptions().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(client.get("/actuator/health/readiness").status()).isEqualTo(200));
    }

    @Test
    void prometheusShowsPerModelPerRegionExecutionCountsAfterAJob() {
        RawHttp.Response accepted = client.submit(RunnerClient.referenceJob(), null);
        String id = accepted.json().path("id").asString();
        client.eventsUntilEnd(id, null, null, Duration.ofSeconds(60));

        String metrics = client.get("/actuator/prometheus").body();
        for (String endpoint : new String[] {"llama3.2-1b@us", "llama3.2-1b@eu", "llama3.2-1b@asia", "mistral-7b@eu", "mistral-7b@asia",
                "qwen2.5-1.5b@us", "qwen2.5-1.5b@eu", "qwen2.5-1.5b@asia"}) {
            String model = endpoint.substring(0, endpoint.indexOf('@'));
            String region = endpoint.substring(endpoint.indexOf('@') + 1);
            assertThat(metrics).containsPattern("beacon_executions_seconds_count\\{[^}]*model=\"" + java.util.regex.Pattern.quote(model)
                    + "\"[^}]*region=\"" + region + "\"[^}]*status=\"SUCCEEDED\"[^}]*} [1-9]");
        }
        assertThat(metrics).contains("beacon_executions_seconds_sum").contains("beacon_question_gap_seconds").contains("beacon_provider_inflight");
        assertThat(metrics).doesNotContain(id);
    }
}
