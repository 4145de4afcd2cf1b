package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The "done when": the reference job with five samples on the embedded default, compared
 * with the real embedding model. The simulator's documented regional differences (asia refuses
 * censored topics; each region frames contested ones its own way) come out divergent, and the
 * questions where every region draws from the same pools come out consistent.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ReferenceJobComparisonTest {

    private static final List<String> REGIONALLY_DIFFERENT = List.of("climate", "tiananmen", "taiwan", "xinjiang", "gun-control", "abortion");
    private static final List<String> THE_SAME_EVERYWHERE = List.of("crimea", "press-freedom");

    @LocalServerPort
    int port;

    @Test
    void theSimulatedRegionalDifferencesAreDivergentAndTheRestConsistent() {
        RunnerClient client = new RunnerClient(port, "", null);
        String spec = RunnerClient.referenceJob().replace("\"name\": \"reference-8q\"", "\"name\": \"reference-8q-5\", \"samples\": 5");
        RawHttp.Response accepted = client.submit(spec, null);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = accepted.json().path("id").asString();
        client.eventsUntilEnd(id, null, null, Duration.ofSeconds(120));

        JsonNode comparison = client.get("/jobs/" + id + "/comparison").json();

        assertThat(comparison.path("measure").asString()).isEqualTo("embedding:all-MiniLM-L6-v2");
        assertThat(comparison.path("samples").asInt()).isEqualTo(5);
        Map<String, List<String>> divergentModels = new TreeMap<>();
        List<String> report = new ArrayList<>();
        for (JsonNode q : comparison.path("questions")) {
            for (JsonNode m : q.path("models")) {
                JsonNode effect = m.path("regionEffect");
                assertThat(effect.path("testable").asBoolean()).as("%s / %s testable", q.path("questionId").asString(), m.path("modelId").asString())
                        .isTrue();
                report.add(q.path("questionId").asString() + "/" + m.path("modelId").asString() + " p=" + effect.path("pValue")
                        + " q=" + effect.path("qValue") + " divergent=" + m.path("divergent").asBoolean());
                if (m.path("divergent").asBoolean()) {
                    divergentModels.computeIfAbsent(q.path("questionId").asString(), k -> new ArrayList<>()).add(m.path("modelId").asString());
                }
            }
        }
        // A figure for the record: every test's p and q.
        System.out.println("reference job x 5 samples, region-effect tests:\n  " + String.join("\n  ", report));
        for (String question : REGIONALLY_DIFFERENT) {
            assertThat(divergentModels.getOrDefault(question, List.of())).as("models divergent on %s", question)
                    .containsExactlyInAnyOrder("llama3.2-1b", "mistral-7b", "qwen2.5-1.5b");
        }
        for (String question : THE_SAME_EVERYWHERE) {
            assertThat(divergentModels.getOrDefault(question, List.of())).as("models divergent on %s", question).isEmpty();
        }
        assertThat(comparison.path("summary").path("tests").asInt()).isEqualTo(24);
        assertThat(comparison.path("summary").path("divergent").asInt()).isEqualTo(18);
    }
}
