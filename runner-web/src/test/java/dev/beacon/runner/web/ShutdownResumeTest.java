package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.codec.ServerSentEvent;

/**
 * Shutting an instance down while it runs a job (what SIGTERM does) stops claiming, ends open event
 * streams and releases the job instead of failing or cancelling it; the next instance on the same
 * database resumes it, skipping the cells already stored, and finishes it.
 */
class ShutdownResumeTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void shutdownReleasesRunningJobAndNextInstanceFinishesIt() {
        // A file database: an in-memory one is dropped when the first instance closes its connections.
        String url = "r2dbc:h2:file:///./target/resume-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE";
        ConfigurableApplicationContext first = start(url, "first");
        String id;
        AtomicBoolean streamEnded = new AtomicBoolean();
        long closeMillis;
        try {
            RunnerClient client = client(first);
            id = client.submit(RunnerClient.referenceJob(), null).json().path("id").asString();
            client.events(id, null, null).filter(e -> "execution.finished".equals(e.event())).next().block(TIMEOUT);
            AtomicInteger received = new AtomicInteger();
            client.events(id, null, null).doOnNext(e -> received.incrementAndGet()).doOnComplete(() -> streamEnded.set(true)).subscribe();
            // The stream is open (it has replayed at least job.queued) and, the job still running, has not ended.
            await().atMost(TIMEOUT).until(() -> received.get() > 0);
            assertThat(streamEnded).isFalse();

            long start = System.nanoTime();
            first.close();
            closeMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
        } finally {
            first.close();
        }
        System.out.printf("instance shut down in %d ms while running a job%n", closeMillis);
        // The end of the stream reaches this client on its own event loop, maybe just after close() returned.
        await("open event streams end at shutdown").atMost(TIMEOUT).untilTrue(streamEnded);

        ConfigurableApplicationContext second = start(url, "second");
        try {
            RunnerClient client = client(second);
            assertThat(client.job(id).path("status").asString()).as("released, not ended").isIn("RUNNING", "QUEUED", "SUCCEEDED");
            List<ServerSentEvent<String>> events = client.eventsUntilEnd(id, null, null, TIMEOUT);
            JobLifecycleTest.assertGapFree(events, 1, id);
            List<String> runners = events.stream().filter(e -> "job.started".equals(e.event()))
                    .map(e -> RunnerClient.data(e).path("runner").asString()).toList();
            assertThat(runners).containsExactly("first", "second");
            assertThat(RunnerClient.data(events.get(events.size() - 1)).path("status").asString()).isEqualTo("SUCCEEDED");
            assertThat(events.stream().filter(e -> "execution.finished".equals(e.event())).count()).isEqualTo(64);
            assertThat(client.executions(id)).hasSize(64)
                    .allSatisfy(e -> assertThat(e.path("status").asString()).isEqualTo("SUCCEEDED"));
        } finally {
            second.close();
        }
    }

    private static ConfigurableApplicationContext start(String url, String instance) {
        // Arguments, not builder properties: those are defaults, below the test application.yaml.
        return new SpringApplicationBuilder(RunnerTestApplication.class)
                .profiles("slow")
                .run("--server.port=0", "--spring.r2dbc.url=" + url, "--beacon.runner.dispatcher.instance-id=" + instance);
    }

    private static RunnerClient client(ConfigurableApplicationContext context) {
        int port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
        return new RunnerClient(port, "", null);
    }
}
