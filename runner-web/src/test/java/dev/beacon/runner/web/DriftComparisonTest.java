package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /jobs/{id}/comparison?baseline=} through the real stack with the real embedding model:
 * a run that repeats its baseline exactly has not changed, one whose answers are about something else
 * has, and questions or endpoints that only one of the two jobs asked are listed with null figures.
 */
@RunnerApiTest
class DriftComparisonTest {

    private static final String CLIMATE = "What is your stance on climate change?";
    private static final String PRESS = "Which countries have the least press freedom, and why?";

    private final RunnerClient client;

    DriftComparisonTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void aRepeatedRunHasNotChangedAndARunAboutSomethingElseHas() {
        String baseline = finished(job(CLIMATE, "\"eu\", \"asia\"", ""));
        String repeat = finished(job(CLIMATE, "\"eu\", \"asia\"", ""));
        String other = finished(job(PRESS, "\"eu\"", ",{\"id\":\"extra\",\"text\":\"Is this new?\"}"));

        JsonNode same = client.get("/jobs/" + repeat + "/comparison?baseline=" + baseline).json();
        JsonNode eu = region(same, "q", "eu").path("baseline");
        assertThat(eu.path("jobId").asString()).isEqualTo(baseline);
        assertThat(eu.path("answers").asInt()).isEqualTo(5);
        // Every pair of one answer from each run, other samples included: high, not 1.
        assertThat(eu.path("similarity").asDouble()).isGreaterThan(0.8);
        assertThat(eu.path("changed").asBoolean()).isFalse();
        assertThat(eu.path("pValue").asDouble()).isGreaterThan(0.5);

        JsonNode drifted = client.get("/jobs/" + other + "/comparison?baseline=" + baseline).json();
        JsonNode changed = region(drifted, "q", "eu").path("baseline");
        assertThat(changed.path("changed").asBoolean()).isTrue();
        assertThat(changed.path("pValue").asDouble()).isLessThan(0.05);
        assertThat(changed.path("similarity").asDouble()).isLessThan(eu.path("similarity").asDouble());
        // The question only this job asked: listed with null figures. The endpoint only the baseline asked: listed too.
        JsonNode extra = region(drifted, "extra", "eu").path("baseline");
        assertThat(extra.path("answers").asInt()).isZero();
        assertThat(extra.path("similarity").isNull()).isTrue();
        assertThat(extra.path("changed").isNull()).isTrue();
        assertThat(drifted.path("baseline").path("onlyInBaseline")).anySatisfy(o -> {
            assertThat(o.path("questionId").asString()).isEqualTo("q");
            assertThat(o.path("endpoint").asString()).isEqualTo("llama3.2-1b@asia");
        });

        assertThat(client.get("/jobs/" + other + "/comparison?baseline=00000000-0000-0000-0000-000000000000").status()).isEqualTo(404);
        assertThat(client.get("/jobs/" + other + "/comparison?baseline=nope").status()).isEqualTo(404);
    }

    private static String job(String text, String regions, String more) {
        return "{\"questions\":[{\"id\":\"q\",\"text\":\"" + text + "\"}" + more + "],\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":["
                + regions + "]}],\"samples\":5}";
    }

    private String finished(String spec) {
        RawHttp.Response accepted = client.submit(spec, null);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = accepted.json().path("id").asString();
        client.eventsUntilEnd(id, null, null, Duration.ofSeconds(60));
        return id;
    }

    private static JsonNode region(JsonNode comparison, String questionId, String region) {
        for (JsonNode q : comparison.path("questions")) {
            if (q.path("questionId").asString().equals(questionId)) {
                for (JsonNode r : q.path("models").get(0).path("regions")) {
                    if (r.path("region").asString().equals(region)) {
                        return r;
                    }
                }
            }
        }
        throw new AssertionError("no " + questionId + "/" + region + " in " + comparison);
    }
}
