package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.test.context.ActiveProfiles;
import tools.jackson.databind.JsonNode;

/** Cancelling a running job stops it: every cell ends with exactly one terminal row, the job ends CANCELLED. */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("slow")
class CancelRunningJobTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @LocalServerPort
    int port;

    @Test
    void cancelOfRunningJobEndsItCancelledWithEveryCellTerminal() {
        RunnerClient client = new RunnerClient(port, "", null);
        String id = client.submit(RunnerClient.referenceJob(), null).json().path("id").asString();

        // Wait until the first answer is stored: the job is running and has work left.
        ServerSentEvent<String> firstResult = client.events(id, null, null)
                .filter(e -> "execution.finished".equals(e.event()))
                .next()
                .block(TIMEOUT);
        assertThat(firstResult).isNotNull();

        RawHttp.Response cancel = client.cancel(id);
        assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
        assertThat(cancel.json().path("id").asString()).isEqualTo(id);

        // The stream, comments included, ends with job.finished CANCELLED; idle gaps carry keep-alives.
        List<ServerSentEvent<String>> all = client.events(id, null, null).collectList().block(TIMEOUT);
        List<ServerSentEvent<String>> events = all.stream().filter(e -> e.event() != null).toList();
        JobLifecycleTest.assertGapFree(events, 1, id);
        ServerSentEvent<String> last = events.get(events.size() - 1);
        assertThat(last.event()).isEqualTo("job.finished");
        assertThat(RunnerClient.data(last).path("status").asString()).isEqualTo("CANCELLED");

        JsonNode job = client.job(id);
        assertThat(job.path("status").asString()).isEqualTo("CANCELLED");
        assertThat(job.path("counts").path("pending").asInt()).isZero();
        List<JsonNode> executions = client.executions(id);
        assertThat(executions).hasSize(64);
        assertThat(executions).allSatisfy(e -> assertThat(e.path("status").asString()).isIn(Set.of("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED")));
        assertThat(executions.stream().filter(e -> e.path("status").asString().equals("CANCELLED")).count()).isPositive();
        assertThat(executions.stream().map(e -> e.path("questionId").asString() + "/" + e.path("modelId").asString() + "@"
                + e.path("region").asString()).distinct().count()).isEqualTo(64);

        assertThat(client.cancel(id).status()).isEqualTo(409);
    }

    @Test
    void idleStreamCarriesKeepAliveComments() {
        RunnerClient client = new RunnerClient(port, "", null);
        String id = client.submit(RunnerClient.referenceJob(), null).json().path("id").asString();

        // Answers take ~0.5 s, keep-alive is 0.2 s: comments arrive between events (the first one is
        // waited for, not looked for in a window of wall-clock time).
        ServerSentEvent<String> comment = client.events(id, null, null)
                .filter(e -> e.event() == null)
                .next()
                .block(TIMEOUT);
        assertThat(comment).isNotNull();
        assertThat(comment.comment()).isEqualToIgnoringWhitespace("keep-alive");
        assertThat(comment.data()).isNull();
        client.cancel(id);
    }
}
