package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

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

    @Test
    void listIsNewestFirstAndPagesWithNextLinks() {
        RawHttp http = new RawHttp(port);
        List<String> submitted = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            submitted.add(http.postJson("/jobs", RunnerClient.referenceJob().replace("reference-8q", "page-" + i), Map.of())
                    .json().path("id").asString());
        }

        JsonNode page1 = http.get("/jobs?limit=2&status=QUEUED", Map.of()).json();
        List<String> ids1 = page1.path("jobs").valueStream().map(j -> j.path("id").asString()).toList();
        String next = page1.path("next").asString();
        JsonNode page2 = http.get(next, Map.of()).json();
        List<String> ids2 = page2.path("jobs").valueStream().map(j -> j.path("id").asString()).toList();

        assertThat(ids1).containsExactly(submitted.get(2), submitted.get(1));
        assertThat(next).startsWith("/jobs?limit=2&before=" + submitted.get(1));
        assertThat(ids2).startsWith(submitted.get(0));
        // Other tests of this class may have queued jobs before these: a short page is the last one.
        assertThat(page2.path("next").isNull()).isEqualTo(ids2.size() < 2);
    }

    @Test
    void eventStreamRefusesClientsThatDoNotAcceptEventStreams() {
        RawHttp http = new RawHttp(port);
        String id = http.postJson("/jobs", RunnerClient.referenceJob(), Map.of()).json().path("id").asString();

        RawHttp.Response response = http.get("/jobs/" + id + "/events", Map.of("Accept", "application/json"));

        assertThat(response.status()).isEqualTo(406);
        assertThat(response.errorFields()).containsExactly("Accept");
    }
}
