package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A thousand clients follow one job's event stream over real HTTP connections; every one receives every
 * event, in order, once. Delivery latency is measured and printed, not asserted (shared CI machines).
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("slow")
class ManySubscribersTest {

    private static final int SUBSCRIBERS = 1000;

    @LocalServerPort
    int port;

    /** On PostgreSQL: live events reach the shared feed through LISTEN/NOTIFY, as in production. */
    @DynamicPropertySource
    static void postgres(DynamicPropertyRegistry registry) {
        PostgresJobLifecycleTest.register(registry);
    }

    /** One received event: its sequence number, when it arrived, and the completion time it reports (if any). */
    record Arrival(long seq, Instant at, Instant completedAt) {
    }

    @Test
    void thousandSubscribersEachReceiveEveryEventInOrder() {
        ConnectionProvider pool = ConnectionProvider.builder("sse-subscribers")
                .maxConnections(SUBSCRIBERS + 100)
                .pendingAcquireMaxCount(-1)
                .pendingAcquireTimeout(Duration.ofSeconds(60))
                .build();
        try {
            WebClient web = WebClient.builder()
                    .baseUrl("http://localhost:" + port)
                    .clientConnector(new ReactorClientHttpConnector(HttpClient.create(pool).responseTimeout(Duration.ofSeconds(120))))
                    .build();
            RunnerClient client = new RunnerClient(port, "", null, web);
            String id = client.submit(RunnerClient.referenceJob(), null).json().path("id").asString();

            List<List<Arrival>> received = Flux.range(0, SUBSCRIBERS)
                    .flatMap(i -> client.events(id, null, null)
                            .filter(e -> e.event() != null)
                            .map(e -> {
                                var data = RunnerClient.data(e);
                                String completed = data.path("completedAt").asString(null);
                                return new Arrival(Long.parseLong(e.id()), Instant.now(), completed == null ? null : Instant.parse(completed));
                            })
                            .collectList(), SUBSCRIBERS)
                    .collectList()
                    .block(Duration.ofSeconds(180));

            assertThat(received).hasSize(SUBSCRIBERS);
            List<Long> expected = received.get(0).stream().map(Arrival::seq).toList();
            assertThat(expected).isNotEmpty();
            assertThat(expected).isEqualTo(JobLifecycleTest.range(1, expected.size()));
            assertThat(received).allSatisfy(list -> assertThat(list.stream().map(Arrival::seq).toList()).isEqualTo(expected));
            assertThat(client.job(id).path("status").asString()).isEqualTo("SUCCEEDED");

            report(received);
        } finally {
            pool.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    /** Prints the spread of arrival times per event over all subscribers, and the latency from a cell's completion to its arrival. */
    private static void report(List<List<Arrival>> received) {
        Map<Long, List<Instant>> bySeq = new HashMap<>();
        List<Long> liveLatencies = new ArrayList<>();
        for (List<Arrival> list : received) {
            for (Arrival a : list) {
                bySeq.computeIfAbsent(a.seq(), s -> new ArrayList<>()).add(a.at());
                if (a.completedAt() != null) {
                    liveLatencies.add(Duration.between(a.completedAt(), a.at()).toMillis());
                }
            }
        }
        List<Long> spreads = new ArrayList<>();
        bySeq.values().forEach(times -> spreads.add(Duration.between(Collections.min(times), Collections.max(times)).toMillis()));
        Collections.sort(spreads);
        Collections.sort(liveLatencies);
        System.out.printf("%d subscribers x %d events: arrival spread per event p50=%d ms p99=%d ms max=%d ms; "
                        + "cell completion -> arrival p50=%d ms p99=%d ms max=%d ms%n",
                received.size(), bySeq.size(), pct(spreads, 50), pct(spreads, 99), pct(spreads, 100),
                pct(liveLatencies, 50), pct(liveLatencies, 99), pct(liveLatencies, 100));
    }

    private static long pct(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return -1;
        }
        int index = Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1);
        return sorted.get(Math.max(0, index));
    }
}
