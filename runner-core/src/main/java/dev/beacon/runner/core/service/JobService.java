package dev.beacon.runner.core.service;

import dev.beacon.runner.core.analysis.Comparison;
import dev.beacon.runner.core.analysis.RunDrift;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.engine.EndpointStatus;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.Submission;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The programmatic API of a runner: what the HTTP routes do, for hosts that build their own.
 * Every method is non-blocking.
 */
public interface JobService {

    /**
     * Parses and validates a submitted JSON body against the configured endpoints and limits.
     *
     * @throws dev.beacon.runner.core.spec.SpecValidationException naming every offending field
     */
    JobSpec parse(String json);

    /**
     * Validates and durably stores a job as {@code QUEUED}, then wakes a dispatcher.
     * Emits the stored job ({@code created = false} for an idempotent repeat). Errors with
     * {@link dev.beacon.runner.core.spec.SpecValidationException} for a spec that does not fit this
     * runner and {@link dev.beacon.runner.core.store.IdempotencyConflictException} for a reused key
     * with another body; nothing is stored then. On cancel the job may or may not be stored.
     */
    Mono<Submission> submit(JobSpec spec, @Nullable String idempotencyKey);

    /** Emits the job; errors with {@link JobNotFoundException} if there is none. */
    Mono<JobRecord> get(JobId id);

    /** One page of jobs, newest first. */
    Flux<JobRecord> list(JobQuery query);

    /** The jobs made by retrying {@code source}, newest first. Errors with the store's error. */
    Flux<JobId> retriesOf(JobId source);

    /** Every stored execution in (question, endpoint) order; errors with {@link JobNotFoundException}. */
    Flux<ExecutionResult> executions(JobId id);

    /**
     * Cancels the job wherever it runs and emits it as it is now. Errors with
     * {@link JobNotFoundException} or {@link JobAlreadyTerminalException}.
     */
    Mono<JobRecord> cancel(JobId id);

    /**
     * A new job that retries {@code source}: the same spec, the source's cells whose status is not in
     * {@code rerun} carried over (never asked again), the others run as usual; the source never
     * changes. With {@code idempotencyKey} used before for a retry of the same source, emits that job
     * ({@code created} false). Errors with {@link JobNotFoundException}, with
     * {@link JobNotRetryableException} when the source is not finished or has no cell in {@code rerun},
     * or with the store's error.
     */
    Mono<Submission> retry(JobId source, Set<ExecutionStatus> rerun, @Nullable String idempotencyKey);

    /**
     * The job's events with {@code seq > afterSeq}: first the stored ones, then live ones as they are
     * stored (by any instance), in order, with no gap and no repeat; completes after
     * {@code job.finished}. Errors with {@link JobNotFoundException}. On cancel the subscriber is
     * removed; the job is not affected.
     */
    Flux<StoredEvent> events(JobId id, long afterSeq);

    /**
     * The events of {@link #events} in the non-empty lists they were read in, in order: for a
     * server that writes each list as one message to many subscribers. Lists may be shared between
     * subscribers; never modify one. Same errors and cancel behaviour; by default each event alone.
     */
    default Flux<List<StoredEvent>> eventBatches(JobId id, long afterSeq) {
        return events(id, afterSeq).map(List::of);
    }

    /**
     * Side-by-side answers of each model across regions with the region-effect statistics (README,
     * "Comparison: the region-effect test and refusals"), computed from the rows stored so far, off the caller's thread. Errors with
     * {@link JobNotFoundException}, or with the analysis's error (e.g. an embedding model that cannot
     * be loaded). On cancel the computation is abandoned.
     */
    Mono<Comparison> comparison(JobId id);

    /**
     * Per question × endpoint ({@link RunDrift#key}), how this job's answers drifted from
     * {@code baseline}'s. Errors with {@link JobNotFoundException} naming whichever job is unknown;
     * on cancel the computation is abandoned.
     */
    Mono<java.util.Map<String, RunDrift.Baseline>> drift(JobId id, JobId baseline);

    /** The configured endpoints with their circuit state and load. */
    List<EndpointStatus> endpoints();
}
