package dev.beacon.runner.web.cluster;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.Submission;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A real store whose lease renewals a test can slow down or hang, as a stalled database would, while
 * everything else goes through unchanged; it counts the calls in progress ({@link #busy()}).
 */
final class StallableStore implements JobStore {

    private final R2dbcJobStore store;
    private final AtomicInteger renewals = new AtomicInteger();
    private final AtomicInteger busy = new AtomicInteger();
    private volatile UnaryOperator<Flux<JobId>> renewal = UnaryOperator.identity();

    StallableStore(R2dbcJobStore store) {
        this.store = store;
    }

    /**
     * Calls on the database in progress: a virtual-time test lets them finish before it moves time
     * on, so that time never passes while real work is outstanding (unless the test stalls it).
     */
    int busy() {
        return busy.get();
    }

    /** The store's fenced journal for {@code owner}, its calls counted in {@link #busy()}. */
    JobJournal journalFor(String owner) {
        JobJournal journal = store.journalFor(owner);
        return new JobJournal() {
            @Override
            public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
                return tracked(journal.append(jobId, event));
            }

            @Override
            public Flux<ExecutionResult> executions(JobId jobId) {
                return tracked(journal.executions(jobId));
            }
        };
    }

    private <T> Mono<T> tracked(Mono<T> call) {
        return Mono.defer(() -> {
            busy.incrementAndGet();
            return call.doFinally(signal -> busy.decrementAndGet());
        });
    }

    private <T> Flux<T> tracked(Flux<T> call) {
        return Flux.defer(() -> {
            busy.incrementAndGet();
            return call.doFinally(signal -> busy.decrementAndGet());
        });
    }

    /** What happens to each renewal from now on (identity: it goes through). */
    void renewals(UnaryOperator<Flux<JobId>> renewal) {
        this.renewal = renewal;
    }

    /** Renewals asked for so far. */
    int renewalCount() {
        return renewals.get();
    }

    @Override
    public Flux<JobId> renewLeases(String owner, Collection<JobId> jobs, Duration lease) {
        return Flux.defer(() -> {
            renewals.incrementAndGet();
            return renewal.apply(tracked(store.renewLeases(owner, jobs, lease)));
        });
    }

    @Override
    public Mono<Submission> submit(NewJob job) {
        return tracked(store.submit(job));
    }

    @Override
    public Flux<JobId> retriesOf(JobId source) {
        return tracked(store.retriesOf(source));
    }

    @Override
    public Flux<JobId> cancelRequested(java.util.Collection<JobId> jobs) {
        return tracked(store.cancelRequested(jobs));
    }

    @Override
    public Mono<Submission> retry(NewJob job, JobId source, java.util.Set<dev.beacon.runner.core.domain.ExecutionStatus> rerun) {
        return tracked(store.retry(job, source, rerun));
    }

    @Override
    public Mono<JobRecord> find(JobId id) {
        return tracked(store.find(id));
    }

    @Override
    public Flux<JobRecord> list(JobQuery query) {
        return tracked(store.list(query));
    }

    @Override
    public Flux<ExecutionResult> orderedExecutions(JobId id) {
        return tracked(store.orderedExecutions(id));
    }

    @Override
    public Flux<StoredEvent> events(JobId id, long afterSeq) {
        return tracked(store.events(id, afterSeq));
    }

    @Override
    public Mono<CancelOutcome> requestCancel(JobId id) {
        return tracked(store.requestCancel(id));
    }

    @Override
    public Mono<ClaimedJob> claimNext(String owner, Duration lease) {
        return tracked(store.claimNext(owner, lease));
    }

    @Override
    public Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded) {
        return tracked(store.claim(owner, lease, max, excluded));
    }

    @Override
    public Mono<Void> release(JobLease lease) {
        return tracked(store.release(lease));
    }

    @Override
    public Flux<JobId> releaseOwned(String owner, Set<JobId> kept) {
        return tracked(store.releaseOwned(owner, kept));
    }

    @Override
    public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
        return tracked(store.append(jobId, event));
    }

    @Override
    public Flux<ExecutionResult> executions(JobId jobId) {
        return tracked(store.executions(jobId));
    }
}
