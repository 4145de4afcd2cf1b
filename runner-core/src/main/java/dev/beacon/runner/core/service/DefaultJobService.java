package dev.beacon.runner.core.service;

import dev.beacon.runner.core.analysis.Comparison;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.core.analysis.RunDrift;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.engine.EndpointStatus;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.JobSpecReader;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.RetryRefusedException;
import dev.beacon.runner.core.store.Submission;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The {@link JobService} of a runner: validates against this runner's endpoints, stores through the
 * {@link JobStore}, and wakes dispatchers and subscribers through {@link JobSignals}. Jobs are run
 * by a {@link dev.beacon.runner.core.dispatch.JobDispatcher}, never by the caller's request.
 */
public final class DefaultJobService implements JobService, AutoCloseable {

    private final JobStore store;
    private final JobSignals signals;
    private final JobSpecReader reader;
    private final ExecutionPlanner planner;
    private final JobRunner runner;
    private final Clock clock;
    private final JobEventFeed feed;
    private final JobComparisons comparisons;
    private final boolean ownsComparisons;

    /**
     * Comparisons with {@link JobComparisons#withDefaults()} (the best embedder on the class path, default
     * analysis settings, a {@code beacon-analysis} scheduler owned and closed by this service).
     *
     * @param eventPollInterval how often live event streams re-read the store even without a signal
     *                          (a safety net for lost signals)
     */
    public DefaultJobService(JobStore store, JobSignals signals, JobSpecReader reader, ExecutionPlanner planner,
                             JobRunner runner, Clock clock, Duration eventPollInterval) {
        this(store, signals, reader, planner, runner, clock, eventPollInterval, JobComparisons.withDefaults(), true);
    }

    /**
     * @param eventPollInterval how often live event streams re-read the store even without a signal
     *                          (a safety net for lost signals)
     * @param comparisons       computes {@link #comparison}s; not closed by this service
     */
    public DefaultJobService(JobStore store, JobSignals signals, JobSpecReader reader, ExecutionPlanner planner,
                             JobRunner runner, Clock clock, Duration eventPollInterval, JobComparisons comparisons) {
        this(store, signals, reader, planner, runner, clock, eventPollInterval, comparisons, false);
    }

    private DefaultJobService(JobStore store, JobSignals signals, JobSpecReader reader, ExecutionPlanner planner,
                              JobRunner runner, Clock clock, Duration eventPollInterval, JobComparisons comparisons,
                              boolean ownsComparisons) {
        this.store = Objects.requireNonNull(store, "store");
        this.signals = Objects.requireNonNull(signals, "signals");
        this.reader = Objects.requireNonNull(reader, "reader");
        this.planner = Objects.requireNonNull(planner, "planner");
        this.runner = Objects.requireNonNull(runner, "runner");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.feed = new JobEventFeed(store, signals, eventPollInterval, Schedulers.parallel());
        this.comparisons = Objects.requireNonNull(comparisons, "comparisons");
        this.ownsComparisons = ownsComparisons;
    }

    @Override
    public JobSpec parse(String json) {
        return reader.read(json);
    }

    @Override
    public Mono<Submission> submit(JobSpec spec, @Nullable String idempotencyKey) {
        return Mono.defer(() -> {
            JobId id = JobId.random();
            planner.plan(id, spec); // throws SpecValidationException before anything is stored
            return store.submit(new NewJob(id, spec, idempotencyKey, clock.instant()));
        }).flatMap(submission -> submission.created()
                ? signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(e -> Mono.empty()).thenReturn(submission)
                : Mono.just(submission));
    }

    @Override
    public Mono<JobRecord> get(JobId id) {
        return store.find(id).switchIfEmpty(Mono.error(() -> new JobNotFoundException(id)));
    }

    @Override
    public Flux<JobRecord> list(JobQuery query) {
        return store.list(query);
    }

    @Override
    public Flux<JobId> retriesOf(JobId source) {
        return store.retriesOf(source);
    }

    @Override
    public Flux<ExecutionResult> executions(JobId id) {
        return get(id).thenMany(store.orderedExecutions(id));
    }

    @Override
    public Mono<JobRecord> cancel(JobId id) {
        return store.requestCancel(id).flatMap(outcome -> switch (outcome) {
            case NOT_FOUND -> Mono.error(new JobNotFoundException(id));
            case ALREADY_TERMINAL -> get(id).flatMap(job -> Mono.error(new JobAlreadyTerminalException(id, job.status())));
            case CANCELLED, REQUESTED -> get(id);
        });
    }

    @Override
    public Mono<Submission> retry(JobId source, Set<ExecutionStatus> rerun, @Nullable String idempotencyKey) {
        return get(source)
                .flatMap(job -> store.retry(new NewJob(JobId.random(), job.spec(), idempotencyKey, clock.instant()), source, rerun))
                .onErrorMap(RetryRefusedException.class, e -> e.reason() == RetryRefusedException.Reason.SOURCE_NOT_FOUND
                        ? new JobNotFoundException(source) : new JobNotRetryableException(source, e.getMessage()))
                .flatMap(submission -> submission.created()
                        ? signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(e -> Mono.empty()).thenReturn(submission)
                        : Mono.just(submission));
    }

    @Override
    public Flux<StoredEvent> events(JobId id, long afterSeq) {
        return get(id).thenMany(feed.events(id, afterSeq));
    }

    @Override
    public Flux<List<StoredEvent>> eventBatches(JobId id, long afterSeq) {
        return get(id).thenMany(feed.batches(id, afterSeq));
    }

    /**
     * Reads the job's rows, then computes the comparison on the analysis scheduler of
     * {@link JobComparisons}, never on the caller's thread. On error (unknown job, store, model) emits it;
     * on cancel the computation is abandoned: no further (question, model) starts, running ones finish
     * unobserved.
     */
    @Override
    public Mono<Comparison> comparison(JobId id) {
        return get(id).flatMap(job -> store.orderedExecutions(id).collectList()
                .flatMap(rows -> comparisons.compare(id.toString(), job.spec(), rows)));
    }

    @Override
    public Mono<java.util.Map<String, RunDrift.Baseline>> drift(JobId id, JobId baseline) {
        return get(id).then(get(baseline))
                .then(Mono.zip(store.orderedExecutions(id).collectList(), store.orderedExecutions(baseline).collectList()))
                .flatMap(rows -> comparisons.drift(id.toString(), rows.getT1(), baseline.toString(), rows.getT2()));
    }

    @Override
    public List<EndpointStatus> endpoints() {
        return runner.endpointStatuses();
    }

    /**
     * Ends every event stream this service serves (they complete; clients resume with
     * {@code Last-Event-ID} elsewhere or after a restart). A stream's feed retries a failed read
     * while it has subscribers, so without this a feed could outlive the store it reads.
     */
    @Override
    public void close() {
        feed.close();
        if (ownsComparisons) {
            comparisons.close();
        }
    }
}
