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
 * Records the engine's meters. Tags are bounded by configuration (model, region, provider, status);
 * job and question ids are never tags, so cardinality does not grow with the number of jobs.
 *
 * <table>
 *   <caption>Meters of the engine</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@value #JOBS_ACTIVE}</td><td>gauge</td><td>—</td><td>jobs running on this instance</td></tr>
 *   <tr><td>{@value #JOBS_FINISHED}</td><td>counter</td><td>status</td><td>jobs that reached a terminal status
 *       ({@code SUCCEEDED}, {@code PARTIAL}, {@code FAILED}, {@code CANCELLED}, {@code TIMED_OUT})</td></tr>
 *   <tr><td>{@value #QUESTION_DURATION}</td><td>timer</td><td>—</td><td>from a question's start until all its cells are stored</td></tr>
 *   <tr><td>{@value #QUESTION_GAP}</td><td>timer</td><td>—</td><td>from the last stored result of question k to the start of question k+1</td></tr>
 *   <tr><td>{@value #EXECUTIONS}</td><td>timer</td><td>model, region, provider, status</td><td>finished cells and their
 *       latency from first attempt to result; {@code provider} is {@code none} when no attempt was made</td></tr>
 *   <tr><td>{@value #ATTEMPTS}</td><td>counter</td><td>model, region, provider</td><td>attempts against providers, retries included</td></tr>
 *   <tr><td>{@value #RETRIES}</td><td>counter</td><td>model, region, provider</td><td>retries scheduled after a transient failure
 *       (a fallback to the next provider is not a retry)</td></tr>
 *   <tr><td>{@value #QUEUE_WAIT}</td><td>timer</td><td>model, region, provider</td><td>time an attempt waited for the provider's
 *       {@code max-concurrency} permit</td></tr>
 *   <tr><td>{@value #INFLIGHT}</td><td>gauge</td><td>model, region, provider</td><td>calls in flight to a provider, over all jobs</td></tr>
 *   <tr><td>{@value #QUEUED}</td><td>gauge</td><td>model, region, provider</td><td>calls waiting for a provider's permit</td></tr>
 * </table>
 * The per-provider meters are registered when the runner is built, so they exist (at zero) before
 * the first job.
 */
final class EngineMetrics {

    static final String JOBS_ACTIVE = "beacon.jobs.active";
    static final String JOBS_FINISHED = "beacon.jobs.finished";
    static final String QUESTION_DURATION = "beacon.question.duration";
    static final String QUESTION_GAP = "beacon.question.gap";
    static final String EXECUTIONS = "beacon.executions";
    static final String ATTEMPTS = "beacon.execution.attempts";
    static final String RETRIES = "beacon.execution.retries";
    static final String QUEUE_WAIT = "beacon.provider.queue.wait";
    static final String INFLIGHT = "beacon.provider.inflight";
    static final String QUEUED = "beacon.provider.queued";
    static final String LIMIT = "beacon.provider.limit";

    private final MeterRegistry registry;
    private final AtomicInteger activeJobs = new AtomicInteger();

    EngineMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder(JOBS_ACTIVE, activeJobs, AtomicInteger::get)
                .description("Jobs running on this instance")
                .register(registry);
    }

    void registerLane(ProviderLane lane) {
        Tags tags = laneTags(lane.endpoint(), lane.id());
        Gauge.builder(INFLIGHT, lane.gate(), ConcurrencyGate::inFlight)
                .description("Calls in flight to a provider, over all jobs of this instance")
                .tags(tags).register(registry);
        Gauge.builder(QUEUED, lane.gate(), ConcurrencyGate::waiting)
                .description("Calls waiting for a provider's max-concurrency permit")
                .tags(tags).register(registry);
        Gauge.builder(LIMIT, lane.gate(), ConcurrencyGate::limit)
                .description("Calls a provider is allowed at once now: max-concurrency, or less while an adaptive provider backs off")
                .tags(tags).register(registry);
        retries(lane);
        queueWait(lane);
    }

    /** Counts one retry of {@code lane} after a transient failure. */
    void retried(ProviderLane lane) {
        retries(lane).increment();
    }

    /** Records how long one attempt waited for {@code lane}'s concurrency permit. */
    void queueWaited(ProviderLane lane, Duration wait) {
        queueWait(lane).record(wait);
    }

    private Counter retries(ProviderLane lane) {
        return Counter.builder(RETRIES)
                .description("Retries scheduled after a transient provider failure")
                .tags(laneTags(lane.endpoint(), lane.id()))
                .register(registry);
    }

    private Timer queueWait(ProviderLane lane) {
        return Timer.builder(QUEUE_WAIT)
                .description("Time an attempt waited for the provider's max-concurrency permit")
                .tags(laneTags(lane.endpoint(), lane.id()))
                .register(registry);
    }

    void executionFinished(ExecutionResult result) {
        EndpointId e = result.cell().endpoint();
        String provider = result.providerId() == null ? "none" : result.providerId();
        Tags tags = laneTags(e, provider).and("status", result.status().name());
        Timer.builder(EXECUTIONS)
                .description("Finished executions (cells) and their latency from first attempt to result")
                .tags(tags)
                .register(registry)
                .record(Duration.ofMillis(result.latencyMs() == null ? 0 : result.latencyMs()));
        Counter.builder(ATTEMPTS)
                .description("Attempts made against providers, retries included")
                .tags(laneTags(e, provider))
                .register(registry)
                .increment(result.attempts());
    }

    void questionFinished(Duration duration) {
        Timer.builder(QUESTION_DURATION)
                .description("Time from a question's start until all its cells are stored")
                .register(registry).record(duration);
    }

    void questionGap(Duration gap) {
        Timer.builder(QUESTION_GAP)
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
        Counter.builder(JOBS_FINISHED).description("Jobs that reached a terminal status")
                .tag("status", status.name()).register(registry).increment();
    }

    private static Tags laneTags(EndpointId endpoint, String provider) {
        return Tags.of("model", endpoint.model(), "region", endpoint.region(), "provider", provider);
    }
}
