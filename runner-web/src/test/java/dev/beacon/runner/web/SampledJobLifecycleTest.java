package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.http.codec.ServerSentEvent;
import tools.jackson.databind.JsonNode;

/**
 * A job with samples through the real stack on the embedded database: every (question, endpoint,
 * sample) is asked once, listed in API order, carried by its event, and a {@code {region}} system
 * prompt reaches each endpoint expanded, as its receipt's request hash proves.
 */
@RunnerApiTest
class SampledJobLifecycleTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<String> ENDPOINT_ORDER = List.of("llama3.2-1b@us", "llama3.2-1b@eu", "llama3.2-1b@asia",
            "mistral-7b@eu", "mistral-7b@asia", "qwen2.5-1.5b@us", "qwen2.5-1.5b@eu", "qwen2.5-1.5b@asia");
    private static final String JOB = """
            {"name": "sampled",
             "questions": [{"id": "press", "text": "Which countries have the least press freedom, and why?"},
                           {"id": "climate", "text": "What is your stance on climate change?"}],
             "models": [{"id": "llama3.2-1b", "regions": ["us", "eu", "asia"]}, {"id": "mistral-7b", "regions": ["eu", "asia"]},
                        {"id": "qwen2.5-1.5b", "regions": ["us", "eu", "asia"]}],
             "samples": 3,
             "params": {"temperature": 0.7, "maxTokens": 500, "seed": 42, "systemPrompt": "You are an assistant based in {region}."}}""";

    private final RunnerClient client;

    SampledJobLifecycleTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void everySampleOfEveryCellIsAskedOnceListedInOrderAndCarriedByItsEvent() throws Exception {
        RawHttp.Response accepted = client.submit(JOB, null);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(accepted.json().path("samples").asInt()).isEqualTo(3);
        assertThat(accepted.json().path("cells").asInt()).isEqualTo(48);
        String id = accepted.json().path("id").asString();

        List<ServerSentEvent<String>> events = client.eventsUntilEnd(id, null, null, TIMEOUT);

        List<JsonNode> finished = events.stream().filter(e -> "execution.finished".equals(e.event())).map(RunnerClient::data).toList();
        assertThat(finished).hasSize(48);
        assertThat(finished.stream().map(e -> e.path("questionId").asString() + "/" + e.path("modelId").asString() + "@"
                + e.path("region").asString() + "#" + e.path("sample").asInt()).collect(Collectors.toSet())).hasSize(48);
        ServerSentEvent<String> last = events.get(events.size() - 1);
        assertThat(RunnerClient.data(last).path("counts").path("succeeded").asInt()).isEqualTo(48);
        // Question 2 starts only after all 24 cells of question 1 finished.
        List<String> types = events.stream().map(ServerSentEvent::event).toList();
        int secondStarted = types.lastIndexOf("question.started");
        assertThat(types.subList(0, secondStarted).stream().filter("execution.finished"::equals).count()).isEqualTo(24);

        List<JsonNode> executions = client.executions(id);
        assertThat(executions).hasSize(48);
        int i = 0;
        for (String question : List.of("press", "climate")) {
            for (String endpoint : ENDPOINT_ORDER) {
                for (int sample = 0; sample < 3; sample++) {
                    JsonNode e = executions.get(i++);
                    assertThat(e.path("questionId").asString() + "/" + e.path("modelId").asString() + "@" + e.path("region").asString()
                            + "#" + e.path("sample").asInt()).isEqualTo(question + "/" + endpoint + "#" + sample);
                }
            }
        }
        // The samples of one endpoint are different answers (seed + sample), not one answer three times.
        Set<String> euPress = executions.subList(3, 6).stream().map(e -> e.path("output").path("text").asString()).collect(Collectors.toSet());
        assertThat(euPress).hasSizeGreaterThan(1);

        // mistral-7b@eu sample 2 of "press": the request hash is that of the expanded prompt and seed 44.
        JsonNode mistralEu = executions.get(3 * 3 + 2);
        assertThat(mistralEu.path("modelId").asString() + "@" + mistralEu.path("region").asString() + "#" + mistralEu.path("sample").asInt())
                .isEqualTo("mistral-7b@eu#2");
        String sent = String.join("\n", "model=mistral-7b", "region=eu", "system=You are an assistant based in eu.",
                "prompt=Which countries have the least press freedom, and why?", "temperature=0.7", "maxTokens=500", "seed=44");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(sent.getBytes(StandardCharsets.UTF_8)));
        assertThat(mistralEu.path("receipt").path("requestSha256").asString()).isEqualTo(sha);
    }

    @Test
    void samplesOutOfRangeAreRejectedNamingTheFieldAndNothingIsStored() {
        int before = client.get("/jobs?limit=100").json().path("jobs").size();
        RawHttp.Response rejected = client.submit(JOB.replace("\"samples\": 3", "\"samples\": 51"), null);

        assertThat(rejected.status()).isEqualTo(400);
        assertThat(rejected.errorFields()).containsExactly("samples");
        assertThat(rejected.json().path("errors").get(0).path("message").asString()).contains("between 1 and 50, but was 51");
        assertThat(client.get("/jobs?limit=100").json().path("jobs").size()).isEqualTo(before);
    }
}
