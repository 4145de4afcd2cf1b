package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceRequest;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import reactor.test.scheduler.VirtualTimeScheduler;

/** Builds engines over {@link ScriptedClient}s on a virtual-time scheduler. */
final class EngineFixture {

    static final Map<String, List<String>> REFERENCE_MODELS = new LinkedHashMap<>();

    static {
        REFERENCE_MODELS.put("llama3.2-1b", List.of("us", "eu", "asia"));
        REFERENCE_MODELS.put("mistral-7b", List.of("eu", "asia"));
        REFERENCE_MODELS.put("qwen2.5-1.5b", List.of("us", "eu", "asia"));
    }

    /** The reference models and regions as a job selects them. */
    static List<ModelSelection> referenceModels() {
        List<ModelSelection> models = new ArrayList<>();
        REFERENCE_MODELS.forEach((model, regions) -> models.add(new ModelSelection(model, regions)));
        return models;
    }

    /**
     * The reference endpoints, each one {@code openai} provider on a loopback server under
     * {@code /<region>}, so that the server can tell the regions apart.
     */
    static EndpointCatalog loopbackCatalog(int port) {
        List<EndpointConfig> endpoints = new ArrayList<>();
        REFERENCE_MODELS.forEach((model, regions) -> {
            for (String region : regions) {
                java.net.URI url = java.net.URI.create("http://127.0.0.1:" + port + "/" + region);
                endpoints.add(new EndpointConfig(new EndpointId(model, region), List.of(new ProviderConfig(
                        model + "@" + region, ProviderType.OPENAI, url, "sk-test", null, 4, Duration.ofSeconds(10), null))));
            }
        });
        return new EndpointCatalog(endpoints);
    }

    final VirtualTimeScheduler scheduler = VirtualTimeScheduler.create();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final Map<String, ScriptedClient> clients = new HashMap<>();
    final InMemoryJobJournal journal;
    final EndpointCatalog catalog;
    final JobRunner runner;

    EngineFixture(int providersPerEndpoint, int maxConcurrency, BiFunction<InferenceRequest, Integer, ScriptedClient.Step> script) {
        this(providersPerEndpoint, maxConcurrency, (provider, request, attempt) -> script.apply(request, attempt), RetryPolicy.DEFAULT);
    }

    interface ProviderScript {
        ScriptedClient.Step apply(String providerId, InferenceRequest request, int attempt);
    }

    EngineFixture(int providersPerEndpoint, int maxConcurrency, ProviderScript script, RetryPolicy retryPolicy) {
        this(providersPerEndpoint, maxConcurrency, script, retryPolicy, builder -> { });
    }

    /** As above, with {@code customizer} adding to the runner's builder (registries, for instance). */
    EngineFixture(int providersPerEndpoint, int maxConcurrency, ProviderScript script, RetryPolicy retryPolicy,
                  Consumer<JobRunner.Builder> customizer) {
        List<EndpointConfig> endpoints = new ArrayList<>();
        REFERENCE_MODELS.forEach((model, regions) -> {
            for (String region : regions) {
                List<ProviderConfig> providers = new ArrayList<>();
                for (int p = 0; p < providersPerEndpoint; p++) {
                    providers.add(new ProviderConfig(model + "-" + region + "-" + p, ProviderType.SIMULATED, null, null, null,
                            maxConcurrency, Duration.ofSeconds(30), null));
                }
                endpoints.add(new EndpointConfig(new EndpointId(model, region), providers));
            }
        });
        catalog = new EndpointCatalog(endpoints);
        journal = new InMemoryJobJournal(new JobRunner.SchedulerClock(scheduler));
        JobRunner.Builder builder = JobRunner.builder()
                .endpoints(catalog)
                .clients((endpoint, provider) -> clients.computeIfAbsent(provider.id(),
                        id -> new ScriptedClient(id, scheduler, inFlight, peak, (req, attempt) -> script.apply(id, req, attempt))))
                .journal(journal)
                .scheduler(scheduler)
                .retryPolicy(retryPolicy)
                .jitterSource(() -> 0.5) // no spread: delays are exactly initial × 2^n
                .runnerId("test-runner");
        customizer.accept(builder);
        runner = builder.build();
    }

    ExecutionPlan plan(int questions, JobLimits limits) {
        return plan(questions, 1, InferenceParams.DEFAULT, limits);
    }

    /** A plan of {@code questions} questions asked {@code samples} times of every reference endpoint. */
    ExecutionPlan plan(int questions, int samples, InferenceParams params, JobLimits limits) {
        List<Question> qs = new ArrayList<>();
        for (int i = 0; i < questions; i++) {
            qs.add(new Question("q" + i, "question number " + i));
        }
        List<ModelSelection> models = new ArrayList<>();
        REFERENCE_MODELS.forEach((m, r) -> models.add(new ModelSelection(m, r)));
        JobSpec spec = new JobSpec("test", qs, models, params, limits, 0.67, Map.of(), samples);
        JobId id = JobId.random();
        ExecutionPlan plan = new ExecutionPlanner(catalog).plan(id, spec);
        journal.register(id, plan.cellCount());
        return plan;
    }

    /** Runs {@code plan} fresh and advances virtual time by {@code enough}; fails unless the run completed without error. */
    List<StoredEvent> runToEnd(ExecutionPlan plan, Duration enough) {
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicBoolean completed = new AtomicBoolean();
        runner.run(JobRun.fresh(plan)).subscribe(events::add, error::set, () -> completed.set(true));
        scheduler.advanceTimeBy(enough);
        assertThat(error.get()).as("error of the run").isNull();
        assertThat(completed).as("job completed within %s", enough).isTrue();
        return events;
    }

    List<ScriptedClient.Call> allCalls() {
        return clients.values().stream().flatMap(c -> c.calls.stream()).toList();
    }

    List<ScriptedClient.Call> allCancelled() {
        return clients.values().stream().flatMap(c -> c.cancelled.stream()).toList();
    }

    static JobLimits limits(int concurrency, Duration executionTimeout, Duration jobTimeout, int maxAttempts) {
        return new JobLimits(concurrency, executionTimeout, jobTimeout, maxAttempts);
    }
}
