package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
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

    /**
     * Stores {@code job} as a retry of {@code source}, atomically: the new job (same spec, {@code retryOf}
     * = source) with every source row whose status is not in {@code rerun} copied over (output and
     * receipt as stored, {@code carriedFrom} = source) and announced by its {@code execution.finished};
     * the cells left run as usual. The source never changes. With an idempotency key already used for
     * the same spec and source, emits that earlier job ({@code created} false).
     *
     * <p>Errors with {@link RetryRefusedException} when the source is unknown, not terminal, or has no
     * row in {@code rerun}; with {@link IdempotencyConflictException} for a key used otherwise.
     */
    Mono<Submission> retry(NewJob job, JobId source, Set<ExecutionStatus> rerun);

    /** Emits the job, or completes empty if there is none. */
    Mono<JobRecord> find(JobId id);

    /** Emits one page of jobs, newest first. */
    Flux<JobRecord> list(JobQuery query);

    /** The jobs made by retrying {@code source}, newest first; empty for none or an unknown job. */
    Flux<JobId> retriesOf(JobId source);

    /** Every stored execution of the job in (question order, endpoint order). */
    Flux<ExecutionResult> orderedExecutions(JobId id);

    /** Stored events of the job with {@code seq > afterSeq}, in order. */
    Flux<StoredEvent> events(JobId id, long afterSeq);

    /** Cancels a queued job at once, or flags a running one for its owner. */
    Mono<CancelOutcome> requestCancel(JobId id);

    /**
     * Which of {@code jobs} have a cancel requested (and are not terminal yet): one query for them all,
     * the dispatcher's periodic check under the cancel signal. Errors with the store's error.
     */
    Flux<JobId> cancelRequested(Collection<JobId> jobs);

    /**
     * Claims the oldest job that is {@code QUEUED}, or {@code RUNNING} with an expired lease, for
     * {@code owner} with a lease of {@code lease}; completes empty if there is none. Concurrent
     * claimers never get the same job. Leases are measured on the database's clock, so instances whose
     * clocks disagree still agree on when a lease ends. Each claim raises the job's fencing token.
     */
    Mono<ClaimedJob> claimNext(String owner, Duration lease);

    /**
     * Claims up to {@code max} jobs as {@link #claimNext} would, oldest first, never one of
     * {@code excluded} (the jobs the caller runs right now: an instance must never claim a job it is
     * still running, whatever its lease says); emits fewer (or none) when fewer are claimable. A store
     * may claim them in one transaction or one after the other.
     *
     * <p>On error emits the store's error after the jobs claimed so far (which stay claimed).
     */
    Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded);

    /**
     * Extends, to {@code lease} from the database's now, the leases that {@code owner} holds on
     * {@code jobs}; emits the ids of jobs whose lease was renewed (a job missing from it was lost to
     * another owner, released, or finished). Jobs of {@code owner} not named are left to expire.
     */
    Flux<JobId> renewLeases(String owner, Collection<JobId> jobs, Duration lease);

    /**
     * Gives up a claim so that another instance may resume the job at once. Does nothing unless the
     * job is still held under exactly this lease (same owner, same fencing token): a late release
     * never frees a later claim.
     */
    Mono<Void> release(JobLease lease);

    /**
     * Releases every unfinished job held by {@code owner} except {@code kept}: claims left behind by an
     * earlier process with the same instance name, or by a run that stopped without releasing (a
     * storage error, a lease given up while the database did not answer). Emits the released ids.
     */
    Flux<JobId> releaseOwned(String owner, Set<JobId> kept);
}
