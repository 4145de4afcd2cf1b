package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A thousand clients follow one job's event stream over real HTTP connections; every one receives every
 * event, in order, once, up to {@code job.finished}. Every one of them is live: the job's provider (a
 * loopback {@code openai} server) answers nothing until all thousand are connected, so every
 * {@code execution.finished} reaches them through the shared live feed, not from a replay of the log.
 * Delivery latency is measured and printed, not asserted (shared CI machines).
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ManySubscribersTest {

    private static final int SUBSCRIBERS = 1000;
    private static final Duration TIMEOUT = Duration.ofSeconds(180);
    /** The reference job's endpoints. */
    private static final Map<String, List<String>> ENDPOINTS = Map.of(
            "llama3.2-1b", List.of("us", "eu", "asia"), "mistral-7b", List.of("eu", "asia"), "qwen2.5-1.5b", List.of("us", "eu", "asia"));
    private static final String ANSWER = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"an answer\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}";

    /** Opened once every subscriber is connected; until then the provider holds every request. */
    private static final Sinks.Empty<Void> GATE = Sinks.empty();
    private static final AtomicInteger HELD = new AtomicInteger();
    private static DisposableServer provider;

    @LocalServerPort
    int port;

    /** On PostgreSQL: live events reach the shared feed through LISTEN/NOTIFY, as in production. */
    @DynamicPropertySource
    static void postgresAndProvider(DynamicPropertyRegistry registry) {
        PostgresJobLifecycleTest.register(registry);
        provider = HttpServer.create().host("127.0.0.1").port(0)
                .handle((req, res) -> req.receive().aggregate()
                        .doOnNext(body -> HELD.incrementAndGet())
                        .then(GATE.asMono())
                        // Answers a little apart once open, so that events arrive over a while (a Reactor delay, no sleep).
                        .then(Mono.delay(Duration.ofMillis(20)))
                        .then(res.header("Content-Type", "application/json").sendString(Mono.just(ANSWER)).then()))
                .bindNow();
        int i = 0;
        for (var endpoint : ENDPOINTS.entrySet()) {
            for (String region : endpoint.getValue()) {
                String prefix = "beacon.runner.endpoints[" + i++ + "].";
                registry.add(prefix + "model", endpoint::getKey);
                registry.add(prefix + "region", () -> region);
                registry.add(prefix + "providers[0].id", () -> "loopback-" + endpoint.getKey() + "-" + region);
                registry.add(prefix + "providers[0].type", () -> "openai");
                registry.add(prefix + "providers[0].url", () -> "http://127.0.0.1:" + provider.port() + "/" + region);
                registry.add(prefix + "providers[0].api-key", () -> "sk-test");
                registry.add(prefix + "providers[0].max-concurrency", () -> "8");
                // Held calls wait for the subscribers to connect; they must not time out meanwhile.
                registry.add(prefix + "providers[0].timeout", () -> "PT5M");
            }
        }
    }

    @AfterAll
    static void stopProvider() {
        GATE.tryEmitEmpty();
        if (provider != null) {
            provider.disposeNow();
        }
    }

    /** One received event: its sequence number, type and data, when it arrived, and the completion time it reports (if any). */
    record Arrival(long seq, String type, String data, Instant at, Instant completedAt) {
    }

    @Test
    void thousandLiveSubscribersEachReceiveEveryEventInOrderUpToJobFinished() {
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

            AtomicIntegerArray arrived = new AtomicIntegerArray(SUBSCRIBERS);
            Mono<Map<Integer, List<Arrival>>> all = Flux.range(0, SUBSCRIBERS)
                    .flatMap(i -> client.events(id, null, null)
                            .filter(e -> e.event() != null)
                            .map(ManySubscribersTest::arrival)
                            .doOnNext(a -> arrived.incrementAndGet(i))
                            .collectList()
                            .map(list -> Map.entry(i, list)), SUBSCRIBERS)
                    .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                    .cache();
            all.subscribe();

            // Every subscriber has its first event, so it has joined the job's live feed (it joins before
            // reading its replay), while the provider holds the first question's eight calls.
            await().atMost(Duration.ofSeconds(120)).until(() -> connected(arrived) == SUBSCRIBERS && HELD.get() == 8);
            int[] beforeGate = snapshot(arrived);
            assertThat(client.job(id).path("status").asString()).isIn("QUEUED", "RUNNING");
            GATE.tryEmitEmpty();

            Map<Integer, List<Arrival>> received = all.block(TIMEOUT);

            // What a client that connects now replays from the log: the job's whole event log.
            List<ServerSentEvent<String>> log = client.eventsUntilEnd(id, null, null, TIMEOUT);
            List<Long> expected = log.stream().map(e -> Long.parseLong(e.id())).toList();
            List<String> replayedData = log.stream().map(ServerSentEvent::data).toList();
            assertThat(expected).isEqualTo(JobLifecycleTest.range(1, expected.size()));
            assertThat(log.get(log.size() - 1).event()).isEqualTo("job.finished");
            assertThat(log).filteredOn(e -> "execution.finished".equals(e.event())).hasSize(64);
            assertThat(client.job(id).path("status").asString()).isEqualTo("SUCCEEDED");

            assertThat(received).hasSize(SUBSCRIBERS);
            for (int i = 0; i < SUBSCRIBERS; i++) {
                List<Arrival> list = received.get(i);
                assertThat(list).extracting(Arrival::seq).as("subscriber %d", i).isEqualTo(expected);
                // Live events reach a subscriber as this instance handed them over at commit, not as read
                // back from the log: they must be the same bytes as the replay's.
                assertThat(list).extracting(Arrival::data).as("subscriber %d", i).isEqualTo(replayedData);
                assertThat(list.get(list.size() - 1).type()).as("subscriber %d", i).isEqualTo("job.finished");
                // Live: it had joined before any answer existed, so all 64 results reached it after that.
                assertThat(list.subList(0, beforeGate[i])).as("subscriber %d before the gate", i).isNotEmpty()
                        .extracting(Arrival::type).allMatch(Set.of("job.queued", "job.started", "question.started")::contains);
            }

            report(List.copyOf(received.values()));
        } finally {
            GATE.tryEmitEmpty();
            pool.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    private static Arrival arrival(ServerSentEvent<String> e) {
        var data = RunnerClient.data(e);
        String completed = data.path("completedAt").asString(null);
        return new Arrival(Long.parseLong(e.id()), e.event(), e.data(), Instant.now(), completed == null ? null : Instant.parse(completed));
    }

    private static int connected(AtomicIntegerArray arrived) {
        int n = 0;
        for (int i = 0; i < arrived.length(); i++) {
            n += arrived.get(i) > 0 ? 1 : 0;
        }
        return n;
    }

    private static int[] snapshot(AtomicIntegerArray arrived) {
        int[] counts = new int[arrived.length()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = arrived.get(i);
        }
        return counts;
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
