package dev.beacon.runner.core.bench;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.engine.InMemoryJobJournal;
import dev.beacon.runner.core.engine.JobRun;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * Engine overhead on the reference job: 8 questions × 8 endpoints against a loopback server that
 * answers every call in the {@code openai} protocol after exactly {@code LATENCY}. The ideal wall
 * time is 8 × LATENCY; the gap between questions is measured on the server, from the last answer
 * of question k leaving to the first request of question k+1 arriving. Prints; asserts nothing.
 *
 * <p>Run: {@code ./mvnw -q -Pbench -pl runner-core test -Dtest=ReferenceJobBenchmark}
 */
@Tag("benchmark")
class ReferenceJobBenchmark {

    private static final Duration LATENCY = Duration.ofMillis(200);
    private static final int RUNS = 7;
    private static final Pattern QUESTION = Pattern.compile("question number (\\d+)");

    @Test
    void referenceJobWallTimeAndGapBetweenQuestions() {
        Map<Integer, Long> firstRequestNanos = new ConcurrentHashMap<>();
        Map<Integer, Long> lastAnswerNanos = new ConcurrentHashMap<>();
        DisposableServer server = HttpServer.create().host("127.0.0.1").port(0)
                .route(r -> r.post("/v1/chat/completions", (req, res) -> req.receive().aggregate().asString().flatMap(body -> {
                    Matcher m = QUESTION.matcher(body);
                    int q = m.find() ? Integer.parseInt(m.group(1)) : -1;
                    firstRequestNanos.merge(q, System.nanoTime(), Math::min);
                    return Mono.delay(LATENCY).then(res.header("Content-Type", "application/json")
                            .sendString(Mono.just("{\"choices\":[{\"message\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
                                    + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}"))
                            .then()
                            .doOnSuccess(v -> lastAnswerNanos.merge(q, System.nanoTime(), Math::max)));
                }).then()))
                .bindNow();
        try (InferenceClients clients = new InferenceClients()) {
            Map<String, List<String>> models = new LinkedHashMap<>();
            models.put("llama3.2-1b", List.of("us", "eu", "asia"));
            models.put("mistral-7b", List.of("eu", "asia"));
            models.put("qwen2.5-1.5b", List.of("us", "eu", "asia"));
            List<EndpointConfig> endpoints = new ArrayList<>();
            List<ModelSelection> selections = new ArrayList<>();
            models.forEach((model, regions) -> {
                selections.add(new ModelSelection(model, regions));
                regions.forEach(region -> endpoints.add(new EndpointConfig(new EndpointId(model, region), List.of(new ProviderConfig(
                        model + "@" + region, ProviderType.OPENAI, URI.create("http://127.0.0.1:" + server.port()), null, null, 16,
                        Duration.ofSeconds(30), null)))));
            });
            EndpointCatalog catalog = new EndpointCatalog(endpoints);
            InMemoryJobJournal journal = new InMemoryJobJournal(Clock.systemUTC());
            JobRunner runner = JobRunner.builder().endpoints(catalog).clients(clients).journal(journal).build();
            List<Question> questions = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                questions.add(new Question("q" + i, "question number " + i));
            }
            JobSpec spec = new JobSpec("bench", questions, selections, InferenceParams.DEFAULT,
                    new JobLimits(10, Duration.ofSeconds(30), Duration.ofMinutes(5), 1), 0.67, Map.of());

            List<Double> ratios = new ArrayList<>();
            List<Double> gapsMs = new ArrayList<>();
            for (int run = 0; run < RUNS + 1; run++) {
                firstRequestNanos.clear();
                lastAnswerNanos.clear();
                ExecutionPlan plan = new ExecutionPlanner(catalog).plan(JobId.random(), spec);
                long start = System.nanoTime();
                runner.run(JobRun.fresh(plan)).blockLast(Duration.ofMinutes(1));
                long wall = System.nanoTime() - start;
                if (run == 0) {
                    continue; // warm-up: class loading, JIT, first connections
                }
                ratios.add(wall / (double) (8 * LATENCY.toNanos()));
                for (int q = 0; q < 7; q++) {
                    gapsMs.add((firstRequestNanos.get(q + 1) - lastAnswerNanos.get(q)) / 1e6);
                }
            }
            Collections.sort(ratios);
            Collections.sort(gapsMs);
            System.out.printf("%n| scenario | figure | value |%n| --- | --- | --- |%n");
            System.out.printf("| reference job 8x8, %d ms latency, in-memory journal | wall / ideal, median of %d | %.4f |%n",
                    LATENCY.toMillis(), RUNS, ratios.get(ratios.size() / 2));
            System.out.printf("| same | gap between questions, median / p99 / max (ms) | %.2f / %.2f / %.2f |%n",
                    gapsMs.get(gapsMs.size() / 2), gapsMs.get((int) Math.ceil(gapsMs.size() * 0.99) - 1), gapsMs.get(gapsMs.size() - 1));
        } finally {
            server.disposeNow();
        }
    }
}
