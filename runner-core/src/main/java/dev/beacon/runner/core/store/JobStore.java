package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Duration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Durable jobs: submission, queries, claiming with leases, and the event log. Extends
 * {@link JobJournal}, the part the engine writes through.
 *
 * <p>Every method is non-blocking. Unless said otherwise a method emits the storage error on error
 * and, on cancel, stops without further effect than what was already committed.
 */
public interface JobStore extends JobJournal {

    /**
     * Stores a new {@code QUEUED} job and its {@code job.queued} event in one transaction. With an
     * idempotency key already used for an equal spec, stores nothing and emits the existing job with
     * {@code created = false}; with a different spec, errors with {@link IdempotencyConflictException}.
     */
    Mono<Submission> submit(NewJob job);

    /** Emits the job, or completes empty if there is none. */
    Mono<JobRecord> find(JobId id);

    /** Emits one page of jobs, newest first. */
    Flux<JobRecord> list(JobQuery query);

    /** Every stored execution of the job in (question order, endpoint order). */
    Flux<ExecutionResult> orderedExecutions(JobId id);

    /** Stored events of the job with {@code seq > afterSeq}, in order. */
    Flux<StoredEvent> events(JobId id, long afterSeq);

    /** Cancels a queued job at once, or flags a running one for its owner. */
    Mono<CancelOutcome> requestCancel(JobId id);

    /**
     * Claims the oldest job that is {@code QUEUED}, or {@code RUNNING} with an expired lease, for
     * {@code owner} with a lease of {@code lease}; completes empty if there is none. Concurrent
     * claimers never get the same job.
     */
    Mono<ClaimedJob> claimNext(String owner, Duration lease);

    /**
     * Claims up to {@code max} jobs as {@link #claimNext} would, oldest first; emits fewer (or none)
     * when fewer are claimable. A store may claim them in one transaction; this default claims one
     * after the other and stops at the first miss.
     *
     * <p>On error emits the store's error after the jobs claimed so far (which stay claimed).
     */
    default Flux<ClaimedJob> claim(String owner, Duration lease, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, but was " + max);
        }
        return Flux.range(0, max)
                .concatMap(i -> claimNext(owner, lease).map(java.util.Optional::of).defaultIfEmpty(java.util.Optional.empty()), 1)
                .takeWhile(java.util.Optional::isPresent)
                .map(java.util.Optional::get);
    }

    /**
     * Extends the leases of the given owner's running jobs; emits the ids of jobs whose lease was
     * renewed (a job missing from it was lost to another owner or finished).
     */
    Flux<JobId> renewLeases(String owner, Duration lease);

    /** Gives up ownership of a running job so that another instance may resume it at once. */
    Mono<Void> release(JobId id, String owner);
}
