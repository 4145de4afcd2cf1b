package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.evidence.BundleVerifier;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /jobs/{id}/retry} through the real stack: the new job carries the source's other cells
 * (same output and receipt, {@code carriedFrom} set) and runs only the rest, the source never
 * changes, the retry's bundle verifies, a repeat with the same key is the same job, and retries that
 * make no sense are refused with the reason.
 */
@RunnerApiTest
class RetryJobTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final RunnerClient client;

    RetryJobTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void aRetryCarriesTheSucceededCellsRunsTheRestAndLeavesTheSourceAsItWas() {
        String source = cancelledPartWay();
        List<JsonNode> before = client.executions(source);
        long succeededBefore = before.stream().filter(e -> e.path("status").asString().equals("SUCCEEDED")).count();
        assertThat(succeededBefore).as("some cells succeeded before the cancel").isPositive();
        assertThat(before).anySatisfy(e -> assertThat(e.path("status").asString()).isEqualTo("CANCELLED"));

        RawHttp.Response accepted = client.http.postJson("/jobs/" + source + "/retry", "", Map.of("Idempotency-Key", "retry-1"));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String retry = accepted.json().path("id").asString();
        assertThat(accepted.header("Location")).isEqualTo("/jobs/" + retry);
        assertThat(accepted.json().path("retryOf").asString()).isEqualTo(source);
        client.eventsUntilEnd(retry, null, null, TIMEOUT);

        assertThat(client.job(retry).path("status").asString()).isEqualTo("SUCCEEDED");
        List<JsonNode> after = client.executions(retry);
        assertThat(after).hasSize(before.size());
        Map<String, JsonNode> sourceByCell = before.stream().collect(Collectors.toMap(RetryJobTest::cell, e -> e));
        for (JsonNode e : after) {
            JsonNode was = sourceByCell.get(cell(e));
            if (was.path("status").asString().equals("SUCCEEDED")) {
                assertThat(e.path("carriedFrom").asString()).isEqualTo(source);
                assertThat(e.path("receipt")).isEqualTo(was.path("receipt"));
                assertThat(e.path("output")).isEqualTo(was.path("output"));
                assertThat(e.path("completedAt")).as("not asked again").isEqualTo(was.path("completedAt"));
            } else {
                assertThat(e.path("carriedFrom").isNull()).isTrue();
                assertThat(e.path("status").asString()).isEqualTo("SUCCEEDED");
            }
        }
        assertThat(client.executions(source)).as("the source never changes").isEqualTo(before);
        assertThat(client.job(source).path("status").asString()).isEqualTo("CANCELLED");
        assertThat(client.job(source).path("retries").valueStream().map(JsonNode::asString)).containsExactly(retry);
        assertThat(client.job(retry).path("retries")).isEmpty();

        // The retry's evidence verifies: carried receipts against the job that signed them.
        BundleVerifier verifier = new BundleVerifier();
        assertThat(verifier.verify(verifier.read(client.get("/jobs/" + retry + "/bundle").body())).problems()).isEmpty();

        // The same key again is the same retry; nothing new is stored.
        RawHttp.Response again = client.http.postJson("/jobs/" + source + "/retry", "", Map.of("Idempotency-Key", "retry-1"));
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().path("id").asString()).isEqualTo(retry);
    }

    @Test
    void retriesThatMakeNoSenseAreRefusedWithTheirReason() {
        String id = client.submit(job(1), null).json().path("id").asString();
        client.eventsUntilEnd(id, null, null, TIMEOUT);

        RawHttp.Response nothing = client.http.postJson("/jobs/" + id + "/retry", "", Map.of());
        assertThat(nothing.status()).isEqualTo(409);
        assertThat(nothing.json().path("detail").asString()).contains("no cell in [CANCELLED, FAILED, TIMED_OUT]");

        RawHttp.Response badStatus = client.http.postJson("/jobs/" + id + "/retry", "{\"statuses\": [\"SUCCEEDED\", \"LOST\"]}", Map.of());
        assertThat(badStatus.status()).isEqualTo(400);
        assertThat(badStatus.errorFields()).containsExactly("statuses[1]");
        assertThat(client.http.postJson("/jobs/" + id + "/retry", "{\"stat\": []}", Map.of()).errorFields()).containsExactly("stat");
        assertThat(client.http.postJson("/jobs/00000000-0000-0000-0000-000000000000/retry", "", Map.of()).status()).isEqualTo(404);

        // Asking to run even the succeeded cells again is allowed: nothing is carried then.
        RawHttp.Response everything = client.http.postJson("/jobs/" + id + "/retry", "{\"statuses\": [\"SUCCEEDED\"]}", Map.of());
        assertThat(everything.status()).as(everything.body()).isEqualTo(202);

        String running = client.submit(job(300), null).json().path("id").asString();
        RawHttp.Response early = client.http.postJson("/jobs/" + running + "/retry", "", Map.of());
        assertThat(early.status()).isEqualTo(409);
        assertThat(early.json().path("detail").asString()).contains("only a finished job can be retried");
        client.cancel(running);
    }

    /** A job of many questions, cancelled once some of its cells have succeeded. */
    private String cancelledPartWay() {
        String id = client.submit(job(60), null).json().path("id").asString();
        Awaitility.await().atMost(TIMEOUT).until(() -> client.job(id).path("counts").path("succeeded").asInt() >= 6);
        assertThat(client.cancel(id).status()).isEqualTo(202);
        client.eventsUntilEnd(id, null, null, TIMEOUT);
        return id;
    }

    private static String job(int questions) {
        StringBuilder qs = new StringBuilder();
        for (int i = 0; i < questions; i++) {
            qs.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"Question number ").append(i).append("?\"}");
        }
        return "{\"questions\":[" + qs + "],\"models\":[{\"id\":\"llama3.2-1b\"}],\"samples\":2}";
    }

    private static String cell(JsonNode e) {
        return e.path("questionId").asString() + "/" + e.path("modelId").asString() + "@" + e.path("region").asString() + "#" + e.path("sample").asInt();
    }
}
