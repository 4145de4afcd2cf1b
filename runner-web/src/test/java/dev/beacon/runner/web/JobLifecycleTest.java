package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.springframework.http.codec.ServerSentEvent;
import tools.jackson.databind.JsonNode;

/**
 * The reference job end to end through a real HTTP server, the real auto-configured stack and a real
 * database: submit, follow the event stream to the end, read executions, comparison and endpoints,
 * resume and replay the stream, repeat the submission idempotently.
 */
@RunnerApiTest
class JobLifecycleTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<String> ENDPOINT_ORDER = List.of("llama3.2-1b@us", "llama3.2-1b@eu", "llama3.2-1b@asia",
            "mistral-7b@eu", "mistral-7b@asia", "qwen2.5-1.5b@us", "qwen2.5-1.5b@eu", "qwen2.5-1.5b@asia");

    private final RunnerClient client;

    JobLifecycleTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void referenceJobRunsToSuccessAndEveryViewAgrees() {
        RawHttp.Response accepted = client.submit(RunnerClient.referenceJob(), "ref-1");

        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode job = accepted.json();
        String id = job.path("id").asString();
        assertThat(accepted.header("Location")).isEqualTo("/jobs/" + id);
        assertThat(job.path("status").asString()).isEqualTo("QUEUED");
        assertThat(job.path("questions").asInt()).isEqualTo(8);
        assertThat(job.path("endpoints").asInt()).isEqualTo(8);
        assertThat(job.path("cells").asInt()).isEqualTo(64);
        assertThat(job.path("links").path("self").asString()).isEqualTo("/jobs/" + id);
        assertThat(job.path("links").path("events").asString()).isEqualTo("/jobs/" + id + "/events");
        assertThat(job.path("links").path("executions").asString()).isEqualTo("/jobs/" + id + "/executions");

        List<ServerSentEvent<String>> events = client.eventsUntilEnd(id, null, null, TIMEOUT);

        assertGapFree(events, 1, id);
        assertThat(events.get(0).event()).isEqualTo("job.queued");
        assertThat(RunnerClient.data(events.get(0)).path("cells").asInt()).isEqualTo(64);
        ServerSentEvent<String> last = events.get(events.size() - 1);
        assertThat(last.event()).isEqualTo("job.finished");
        assertThat(RunnerClient.data(last).path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(RunnerClient.data(last).path("counts").path("succeeded").asInt()).isEqualTo(64);
        assertThat(events.stream().filter(e -> "execution.finished".equals(e.event())).count()).isEqualTo(64);
        assertThat(events.stream().filter(e -> "question.started".equals(e.event())).count()).isEqualTo(8);
        assertQuestionsSequential(events);

        JsonNode finished = client.job(id);
        assertThat(finished.path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(finished.path("counts").path("succeeded").asInt()).isEqualTo(64);
        assertThat(finished.path("counts").path("pending").asInt()).isZero();
        assertThat(finished.path("finishedAt").isString()).isTrue();

        List<JsonNode> executions = client.executions(id);
        assertThat(executions).hasSize(64);
        assertThat(executions).allSatisfy(e -> {
            assertThat(e.path("status").asString()).isEqualTo("SUCCEEDED");
            assertThat(e.path("output").path("text").asString()).isNotBlank();
            assertThat(e.path("receipt").path("signature").asString()).isNotBlank();
            assertThat(e.path("attempts").asInt()).isGreaterThanOrEqualTo(1);
        });
        List<String> questionOrder = List.of("climate", "tiananmen", "taiwan", "xinjiang", "crimea", "gun-control", "abortion", "press-freedom");
        for (int i = 0; i < 64; i++) {
            JsonNode e = executions.get(i);
            assertThat(e.path("questionId").asString()).isEqualTo(questionOrder.get(i / 8));
            assertThat(e.path("modelId").asString() + "@" + e.path("region").asString()).isEqualTo(ENDPOINT_ORDER.get(i % 8));
        }

        // Repeating the submission with the same key and body returns the same job, stores nothing new.
        RawHttp.Response again = client.submit(RunnerClient.referenceJob(), "ref-1");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().path("id").asString()).isEqualTo(id);
        RawHttp.Response conflict = client.submit(RunnerClient.referenceJob().replace("reference-8q", "other-name"), "ref-1");
        assertThat(conflict.status()).isEqualTo(409);
        assertThat(conflict.errorFields()).containsExactly("Idempotency-Key");

        // A terminal job cannot be cancelled.
        RawHttp.Response cancel = client.cancel(id);
        assertThat(cancel.status()).isEqualTo(409);
        assertThat(cancel.header("Content-Type")).startsWith("application/problem+json");

        // A late subscriber gets the full replay, then the stream completes.
        List<ServerSentEvent<String>> replay = client.eventsUntilEnd(id, null, null, TIMEOUT);
        assertThat(ids(replay)).isEqualTo(ids(events));
        assertThat(replay.stream().map(ServerSentEvent::data).toList()).isEqualTo(events.stream().map(ServerSentEvent::data).toList());

        // Resume: Last-Event-ID or ?after= continue right after the given event; the header wins over the query.
        int n = events.size();
        assertThat(ids(client.eventsUntilEnd(id, 10L, null, TIMEOUT))).isEqualTo(range(11, n));
        assertThat(ids(client.eventsUntilEnd(id, null, 20L, TIMEOUT))).isEqualTo(range(21, n));
        assertThat(ids(client.eventsUntilEnd(id, 30L, 5L, TIMEOUT))).isEqualTo(range(31, n));
        // A cursor past job.finished ends with no event, too (a keep-alive comment may come first: a
        // comment is allowed whenever the stream is open, and a loaded machine takes a moment to end it).
        assertThat(client.events(id, null, n + 5L).filter(e -> e.comment() == null).collectList().block(TIMEOUT)).isEmpty();
        assertThat(client.eventsUntilEnd(id, (long) n, null, TIMEOUT)).isEmpty();

        // The list shows it, newest first, and filters by status.
        assertThat(client.get("/jobs").json().path("jobs").valueStream().map(j -> j.path("id").asString()).toList()).contains(id);
        assertThat(client.get("/jobs?status=SUCCEEDED&limit=5").json().path("jobs").valueStream()
                .allMatch(j -> j.path("status").asString().equals("SUCCEEDED"))).isTrue();
        assertThat(client.get("/jobs?status=QUEUED").json().path("jobs").valueStream()
                .noneMatch(j -> j.path("id").asString().equals(id))).isTrue();

        // The comparison lays each model's regions side by side, per question.
        JsonNode comparison = client.get("/jobs/" + id + "/comparison").json();
        assertThat(comparison.path("questions").size()).isEqualTo(8);
        JsonNode first = comparison.path("questions").get(0);
        assertThat(first.path("questionId").asString()).isEqualTo("climate");
        Map<String, List<String>> regionsByModel = first.path("models").valueStream().collect(Collectors.toMap(
                m -> m.path("modelId").asString(),
                m -> m.path("regions").valueStream().map(r -> r.path("region").asString()).toList()));
        assertThat(regionsByModel).containsEntry("llama3.2-1b", List.of("us", "eu", "asia"))
                .containsEntry("mistral-7b", List.of("eu", "asia"))
                .containsEntry("qwen2.5-1.5b", List.of("us", "eu", "asia"));
        assertThat(first.path("models").get(0).path("similarities").size()).isEqualTo(3);
    }

    @Test
    void endpointsShowConfigurationAndStateButNoSecrets() {
        RawHttp.Response response = client.get("/endpoints");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body()).doesNotContain("sk-very-secret-123").doesNotContainIgnoringCase("apiKey").doesNotContain("api-key");
        List<JsonNode> endpoints = response.json().valueStream().toList();
        assertThat(endpoints).extracting(e -> e.path("id").asString()).containsExactlyElementsOf(ENDPOINT_ORDER);
        JsonNode first = endpoints.get(0);
        assertThat(first.path("model").asString()).isEqualTo("llama3.2-1b");
        assertThat(first.path("region").asString()).isEqualTo("us");
        assertThat(first.path("circuitState").asString()).isEqualTo("CLOSED");
        assertThat(first.path("inFlight").isNumber()).isTrue();
        assertThat(first.path("providers").get(0).path("id").asString()).isEqualTo("sim-llama32-us");
        assertThat(first.path("providers").get(0).path("type").asString()).isEqualTo("simulated");
    }

    @Test
    void unknownJobIsA404ForEveryJobRoute() {
        String unknown = "/jobs/3f1d2c4b-0000-4000-8000-000000000001";
        for (String path : List.of(unknown, unknown + "/events", unknown + "/executions", unknown + "/comparison")) {
            RawHttp.Response response = client.get(path);
            assertThat(response.status()).as(path).isEqualTo(404);
            assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        }
        assertThat(client.cancel("3f1d2c4b-0000-4000-8000-000000000001").status()).isEqualTo(404);
    }

    static void assertGapFree(List<ServerSentEvent<String>> events, long from, String jobId) {
        assertThat(ids(events)).isEqualTo(range(from, from + events.size() - 1));
        for (ServerSentEvent<String> e : events) {
            JsonNode data = RunnerClient.data(e);
            assertThat(data.path("jobId").asString()).isEqualTo(jobId);
            assertThat(data.path("seq").asLong()).isEqualTo(Long.parseLong(e.id()));
            assertThat(data.path("type").asString()).isEqualTo(e.event());
            assertThat(e.data()).doesNotContain("\n");
        }
    }

    /** Question k+1 starts only after question k finished. */
    static void assertQuestionsSequential(List<ServerSentEvent<String>> events) {
        int open = -1;
        for (ServerSentEvent<String> e : events) {
            if ("question.started".equals(e.event())) {
                assertThat(open).as("a question started while another was running").isEqualTo(-1);
                open = RunnerClient.data(e).path("index").asInt();
            } else if ("question.finished".equals(e.event())) {
                assertThat(RunnerClient.data(e).path("index").asInt()).isEqualTo(open);
                open = -1;
            }
        }
    }

    static List<Long> ids(List<ServerSentEvent<String>> events) {
        List<Long> ids = new ArrayList<>();
        events.forEach(e -> ids.add(Long.parseLong(e.id())));
        return ids;
    }

    static List<Long> range(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().toList();
    }
}
