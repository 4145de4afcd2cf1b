package dev.beacon.runner.web.bench;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * A real HTTP server on loopback that answers {@code POST /v1/chat/completions} in the {@code openai}
 * protocol after a configurable latency, and records what it saw: per question (the number {@code n}
 * in "bench question n" of the prompt) the first request's arrival and the last answer's departure,
 * requests in flight, and when the connections of unanswered requests were closed.
 *
 * <p>It runs on its own event loops so that its work is not queued behind the runner's.
 */
final class LoopbackInference implements AutoCloseable {

    private static final Pattern QUESTION = Pattern.compile("bench question (\\d+)");
    private static final String ANSWER = "{\"id\":\"bench\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"A short, fixed answer from the loopback server.\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9}}";

    private final LoopResources loops = LoopResources.create("bench-inference", 1, true);
    private final DisposableServer server;
    private volatile long latencyMillis;
    private final AtomicReference<Sinks.Empty<Void>> hold = new AtomicReference<>();
    final Map<Integer, Long> firstRequestNanos = new ConcurrentHashMap<>();
    final Map<Integer, Long> lastAnswerNanos = new ConcurrentHashMap<>();
    /** The same marks in wall-clock microseconds, to line up with the timestamps the runner stores. */
    final Map<Integer, Long> firstRequestMicros = new ConcurrentHashMap<>();
    final Map<Integer, Long> lastAnswerMicros = new ConcurrentHashMap<>();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicLong requests = new AtomicLong();
    /** nanoTime at which a connection closed while its request was still unanswered. */
    final Queue<Long> abandonedCloses = new ConcurrentLinkedQueue<>();

    LoopbackInference() {
        server = HttpServer.create().host("127.0.0.1").port(0).runOn(loops)
                .route(r -> r.post("/v1/chat/completions", (req, res) -> req.receive().aggregate().asString().flatMap(body -> {
                    long arrived = System.nanoTime();
                    requests.incrementAndGet();
                    Matcher m = QUESTION.matcher(body);
                    int q = m.find() ? Integer.parseInt(m.group(1)) : -1;
                    firstRequestNanos.merge(q, arrived, Math::min);
                    firstRequestMicros.merge(q, micros(), Math::min);
                    inFlight.incrementAndGet();
                    AtomicInteger answered = new AtomicInteger();
                    req.withConnection(c -> c.onDispose(() -> {
                        if (answered.get() == 0) {
                            abandonedCloses.add(System.nanoTime());
                        }
                    }));
                    Sinks.Empty<Void> gate = hold.get();
                    Mono<Void> waited = gate == null ? Mono.empty() : gate.asMono();
                    long latency = latencyMillis;
                    Mono<Void> delay = latency == 0 ? Mono.empty() : Mono.delay(java.time.Duration.ofMillis(latency)).then();
                    return waited.then(delay)
                            .then(Mono.defer(() -> {
                                answered.set(1);
                                return res.header("Content-Type", "application/json").sendString(Mono.just(ANSWER)).then();
                            }))
                            .doOnSuccess(v -> {
                                lastAnswerNanos.merge(q, System.nanoTime(), Math::max);
                                lastAnswerMicros.merge(q, micros(), Math::max);
                            })
                            .doFinally(s -> inFlight.decrementAndGet());
                })))
                .bindNow();
    }

    static long micros() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    int port() {
        return server.port();
    }

    void latency(long millis) {
        latencyMillis = millis;
    }

    /** Requests from now on wait until {@link #release()}. */
    void hold() {
        hold.set(Sinks.empty());
    }

    void release() {
        Sinks.Empty<Void> gate = hold.getAndSet(null);
        if (gate != null) {
            gate.tryEmitEmpty();
        }
    }

    void resetMarks() {
        firstRequestNanos.clear();
        lastAnswerNanos.clear();
        firstRequestMicros.clear();
        lastAnswerMicros.clear();
        abandonedCloses.clear();
    }

    @Override
    public void close() {
        release();
        server.disposeNow();
        loops.dispose();
    }
}
