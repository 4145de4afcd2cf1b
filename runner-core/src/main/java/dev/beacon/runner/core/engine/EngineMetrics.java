package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The engine's meters. Tags are bounded by configuration (model, region, provider, status); job and
 * question ids are never tags, so cardinality does not grow with the number of jobs.
 */
final class EngineMetrics {

    private final MeterRegistry registry;
    private final AtomicInteger activeJobs = new AtomicInteger();

    EngineMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("beacon.jobs.active", activeJobs, AtomicInteger::get)
                .description("Jobs running on this instance")
                .register(registry);
    }

    void registerLane(ProviderLane lane) {
        Tags tags = laneTags(lane.endpoint(), lane.id());
        Gauge.builder("beacon.provider.inflight", lane.gate(), ConcurrencyGate::inFlight)
                .description("Calls in flight to a provider, over all jobs of this instance")
                .tags(tags).register(registry);
        Gauge.builder("beacon.provider.queued", lane.gate(), ConcurrencyGate::waiting)
                .description("Calls waiting for a provider's max-concurrency permit")
                .tags(tags).register(registry);
    }

    void executionFinished(ExecutionResult result) {
        EndpointId e = result.cell().endpoint();
        String provider = result.providerId() == null ? "none" : result.providerId();
        Tags tags = laneTags(e, provider).and("status", result.status().name());
        Timer.builder("beacon.executions")
                .description("Finished executions (cells) and their latency from first attempt to result")
                .tags(tags)
                .register(registry)
                .record(Duration.ofMillis(result.latencyMs() == null ? 0 : result.latencyMs()));
        Counter.builder("beacon.execution.attempts")
                .description("Attempts made against providers, retries included")
                .tags(laneTags(e, provider))
                .register(registry)
                .increment(result.attempts());
    }

    void questionFinished(Duration duration) {
        Timer.builder("beacon.question.duration")
                .description("Time from a question's start until all its cells are stored")
                .register(registry).record(duration);
    }

    void questionGap(Duration gap) {
        Timer.builder("beacon.question.gap")
                .description("Time from the last stored result of question k to the start of question k+1")
                .register(registry).record(gap);
    }

    void jobStarted() {
        activeJobs.incrementAndGet();
    }

    void jobStopped() {
        activeJobs.decrementAndGet();
    }

    void jobFinished(JobStatus status) {
        Counter.builder("beacon.jobs.finished").description("Jobs that reached a terminal status")
                .tag("status", status.name()).register(registry).increment();
    }

    private static Tags laneTags(EndpointId endpoint, String provider) {
        return Tags.of("model", endpoint.model(), "region", endpoint.region(), "provider", provider);
    }
}
