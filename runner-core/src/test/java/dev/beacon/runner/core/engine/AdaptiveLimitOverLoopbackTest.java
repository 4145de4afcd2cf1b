package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * Adaptive provider limits against a loopback {@code openai} server that refuses with {@code 429}
 * and {@code Retry-After: 1} whenever more than 2 requests are in flight for one endpoint, while each
 * provider allows up to 4 (the default max-concurrency): the limits back off, every cell of an
 * 8 × 8 × 8 job succeeds, and few requests are refused.
 */
class AdaptiveLimitOverLoopbackTest {

    private static final int SERVER_CAPACITY = 2;
    /** Each provider's max-concurrency: the runner's default, twice what the server takes. */
    private static final int CEILING = 4;
    private static final Pattern MODEL = Pattern.compile("\"model\":\"([^\"]+)\"");

    private DisposableServer server;
    private InferenceClients clients;
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();

    @BeforeEach
    void startServer() {
        server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.post("/{region}/v1/chat/completions", (req, res) -> req.receive().aggregate().asString().flatMap(body -> {
                    Matcher m = MODEL.matcher(body);
                    String endpoint = (m.find() ? m.group(1) : "?") + "@" + req.param("region");
                    requests.incrementAndGet();
                    AtomicInteger busy = inFlight.computeIfAbsent(endpoint, k -> new AtomicInteger());
                    if (busy.incrementAndGet() > SERVER_CAPACITY) {
                        busy.decrementAndGet();
                        refused.incrementAndGet();
                        return res.status(429).header("Retry-After", "1").header("Content-Type", "application/json")
                                .sendString(Mono.just("{\"error\":\"too many requests\"}")).then();
                    }
                    String answer = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}";
                    return Mono.delay(Duration.ofMillis(30))
                            .doFinally(s -> busy.decrementAndGet())
                            .then(res.header("Content-Type", "application/json").sendString(Mono.just(answer)).then());
                }).then()))
                .bindNow();
        clients = new InferenceClients();
    }

    @AfterEach
    void stopServer() {
        clients.close();
        server.disposeNow();
    }

    @Test
    void limitsBackOffSoEveryCellSucceedsWithFewRefusals() {
        List<EndpointConfig> endpoints = new ArrayList<>();
        EngineFixture.REFERENCE_MODELS.forEach((model, regions) -> {
            for (String region : regions) {
                URI url = URI.create("http://127.0.0.1:" + server.port() + "/" + region);
                endpoints.add(new EndpointConfig(new EndpointId(model, region), List.of(new ProviderConfig(model + "@" + region,
                        ProviderType.OPENAI, url, null, null, CEILING, Duration.ofSeconds(10), null, ProviderConfig.DEFAULT_RECORD_HEADERS, true))));
            }
        });
        EndpointCatalog catalog = new EndpointCatalog(endpoints);
        InMemoryJobJournal journal = new InMemoryJobJournal(Clock.systemUTC());
        JobRunner runner = JobRunner.builder().endpoints(catalog).clients(clients).journal(journal).build();
        List<Question> questions = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            questions.add(new Question("q" + i, "question number " + i));
        }
        // Every cell of a question may start at once (64): the provider limits are all that hold the load
        // back. (With the default 10 cells at once over 8 endpoints, this server never refuses anything.)
        JobSpec spec = new JobSpec("adaptive", questions, EngineFixture.referenceModels(), InferenceParams.DEFAULT,
                new JobLimits(64, Duration.ofSeconds(60), Duration.ofMinutes(5), 5), 0.67, Map.of(), 8);
        ExecutionPlan plan = new ExecutionPlanner(catalog).plan(JobId.random(), spec);
        journal.register(plan.jobId(), plan.cellCount());

        runner.run(JobRun.fresh(plan)).blockLast(Duration.ofMinutes(3));

        List<ExecutionResult> rows = journal.executions(plan.jobId()).collectList().block();
        assertThat(rows).hasSize(512).allMatch(r -> r.status() == ExecutionStatus.SUCCEEDED);
        double refusedShare = (double) refused.get() / requests.get();
        System.out.printf("adaptive limits: %d requests, %d answered 429 (%.1f %%); limits now %s%n", requests.get(), refused.get(),
                100 * refusedShare, runner.endpointStatuses().stream().map(s -> s.id() + "=" + s.providers().get(0).limit()).toList());
        assertThat(refusedShare).as("share of requests answered 429").isLessThan(0.10);
        assertThat(runner.endpointStatuses()).allSatisfy(s -> assertThat(s.providers().get(0).limit()).isBetween(1, CEILING));
    }
}
