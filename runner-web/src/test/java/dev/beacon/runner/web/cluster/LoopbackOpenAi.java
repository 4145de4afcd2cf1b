package dev.beacon.runner.web.cluster;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real OpenAI-compatible chat server on 127.0.0.1 for the runner processes of a test. Each endpoint
 * gets its own path prefix ({@code /<model>_<region>/v1/chat/completions}); a request is identified as
 * a cell by that prefix and the user message, so that the test can count requests per cell and see
 * which are in flight. Answers after {@link #latency(Duration)}; a request whose connection is closed
 * before the answer leaves the in-flight set at once.
 */
final class LoopbackOpenAi implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final byte[] ANSWER = """
            {"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":3,"completion_tokens":1}}""".getBytes(StandardCharsets.UTF_8);

    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final List<String> overlaps = new CopyOnWriteArrayList<>();
    private final AtomicLong total = new AtomicLong();
    private volatile Duration latency = Duration.ZERO;
    private final DisposableServer server;

    LoopbackOpenAi() {
        // Jackson fills its caches under a lock on first use: do that here, not on an event loop.
        JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\"warm-up\"}]}");
        server = HttpServer.create().host("127.0.0.1").port(0).handle(this::handle).bindNow();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.port();
    }

    /** How long each answer takes from now on. */
    void latency(Duration latency) {
        this.latency = latency;
    }

    /** The key of one cell as this server sees it. */
    static String cell(String endpoint, String questionText) {
        return endpoint + "|" + questionText;
    }

    /** Requests received per cell so far. */
    Map<String, Integer> requestsPerCell() {
        return requests.entrySet().stream().collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> e.getValue().get()));
    }

    /** Cells whose request is being answered right now. */
    Set<String> inFlight() {
        return Set.copyOf(inFlight);
    }

    long totalRequests() {
        return total.get();
    }

    /**
     * Every request that arrived while another request of the same job was unanswered here, for the
     * same cell (two runs of one job) or for another question (question k+1 before k was done).
     * Questions are told apart by their text ({@code "<tag> question <i>"}); jobs by the tag.
     */
    List<String> overlaps() {
        return List.copyOf(overlaps);
    }

    private void checkSequencing(String key) {
        String question = key.substring(key.indexOf('|') + 1);
        for (String other : inFlight) {
            String otherQuestion = other.substring(other.indexOf('|') + 1);
            if (other.equals(key) || tagOf(otherQuestion).equals(tagOf(question)) && !otherQuestion.equals(question)) {
                overlaps.add(key + " arrived while " + other + " was in flight");
            }
        }
    }

    private static String tagOf(String question) {
        int at = question.lastIndexOf(" question ");
        return at < 0 ? question : question.substring(0, at);
    }

    private Mono<Void> handle(HttpServerRequest request, HttpServerResponse response) {
        String path = request.path();
        int slash = path.indexOf('/');
        String endpoint = slash < 0 ? path : path.substring(0, slash);
        return request.receive().aggregate().asString().defaultIfEmpty("{}").flatMap(body -> {
            JsonNode root = JSON.readTree(body);
            String prompt = "";
            for (JsonNode message : root.path("messages")) {
                if ("user".equals(message.path("role").asString())) {
                    prompt = message.path("content").asString();
                }
            }
            String key = cell(endpoint, prompt);
            requests.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
            checkSequencing(key);
            inFlight.add(key);
            Duration wait = latency;
            // Out of the in-flight set before the answer leaves: the runner may ask the next question
            // as soon as it has read the answer.
            Mono<Void> answer = Mono.fromRunnable(() -> inFlight.remove(key))
                    .then(response.header("Content-Type", "application/json").sendByteArray(Mono.just(ANSWER)).then());
            return (wait.isZero() ? answer : Mono.delay(wait).then(answer))
                    .doFinally(signal -> inFlight.remove(key));
        });
    }

    @Override
    public void close() {
        server.disposeNow();
    }
}
