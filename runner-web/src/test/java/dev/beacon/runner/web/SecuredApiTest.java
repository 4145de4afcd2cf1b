package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * With tokens configured and reads closed, every runner route needs a valid bearer token; the routes
 * live under the configured base path (inside the host's own {@code spring.webflux.base-path}) and
 * their links carry both; paths outside it are not the runner's.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.security.tokens[0]=",
        "beacon.runner.security.tokens[1]=first-token",
        "beacon.runner.security.tokens[2]=second-token",
        "beacon.runner.security.open-reads=false",
        "beacon.runner.web.base-path=/runner/",
        "spring.webflux.base-path=/host"})
class SecuredApiTest {

    @LocalServerPort
    int port;

    @Test
    void readsAndWritesNeedAToken() {
        RawHttp http = new RawHttp(port);

        RawHttp.Response anonymous = http.get("/host/runner/jobs", Map.of());
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.header("WWW-Authenticate")).startsWith("Bearer");
        assertThat(http.get("/host/runner/endpoints", Map.of("Authorization", "Bearer wrong")).status()).isEqualTo(401);
        assertThat(http.get("/host/runner/jobs", Map.of("Authorization", "Bearer second-token")).status()).isEqualTo(200);
        // A blank configured token is ignored, not an accepted empty token.
        assertThat(http.get("/host/runner/jobs", Map.of("Authorization", "Bearer ")).status()).isEqualTo(401);
    }

    @Test
    void routesAndLinksHonourTheBasePath() {
        RunnerClient client = new RunnerClient(port, "/host/runner", "first-token");

        RawHttp.Response accepted = client.submit(RunnerClient.referenceJob(), null);

        assertThat(accepted.status()).isEqualTo(202);
        String id = accepted.json().path("id").asString();
        assertThat(accepted.header("Location")).isEqualTo("/host/runner/jobs/" + id);
        assertThat(accepted.json().path("links").path("events").asString()).isEqualTo("/host/runner/jobs/" + id + "/events");
        assertThat(client.get("/jobs/" + id).status()).isEqualTo(200);
        assertThat(client.http.get("/host/jobs/" + id, Map.of("Authorization", "Bearer first-token")).status()).isEqualTo(404);
        client.cancel(id);
    }
}
