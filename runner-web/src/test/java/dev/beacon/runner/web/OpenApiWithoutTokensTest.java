package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/** With no token configured (blank entries only) the API is open, for reads and writes. */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.security.tokens=",
        "beacon.runner.security.open-reads=false",
        "beacon.runner.dispatcher.enabled=false"})
class OpenApiWithoutTokensTest {

    @LocalServerPort
    int port;

    @Test
    void everythingIsOpenWithoutConfiguredTokens() {
        RawHttp http = new RawHttp(port);

        RawHttp.Response accepted = http.postJson("/jobs", RunnerClient.referenceJob(), Map.of());
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = accepted.json().path("id").asString();
        assertThat(http.get("/jobs/" + id, Map.of()).json().path("status").asString()).isEqualTo("QUEUED");
        // Without a dispatcher on this instance the job waits; cancelling a queued job ends it at once.
        RawHttp.Response cancelled = http.send("POST", "/jobs/" + id + "/cancel", Map.of(), null);
        assertThat(cancelled.status()).isEqualTo(202);
        assertThat(http.get("/jobs/" + id, Map.of()).json().path("status").asString()).isEqualTo("CANCELLED");
        assertThat(http.get("/jobs/" + id + "/executions", Map.of()).json().size()).isEqualTo(64);
    }
}
