package dev.beacon.runner.core.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.engine.InMemoryJobJournal;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.Submission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The dispatcher's periodic loops in virtual time, against a store that is slower than their period:
 * a tick that comes while the previous one still runs is dropped, and the loop goes on.
 */
class JobDispatcherTest {

    private static final Duration HEARTBEAT = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration LEASE = Duration.ofSeconds(10);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final EndpointCatalog catalog = new EndpointCatalog(List.of(new EndpointConfig(new EndpointId("m", "eu"), List.of(
            new ProviderConfig("m-eu", ProviderType.SIMULATED, null, null, null, 4, Duration.ofHours(1), null)))));
    private final JobSpec spec = new JobSpec("slow-store", List.of(new Question("q0", "a question")),
            List.of(new ModelSelection("m", List.of("eu"))), InferenceParams.DEFAULT,
            new JobLimits(1, Duration.ofHours(1), Duration.ofHours(2), 1), 0.67, Map.of());
    private final JobId id = JobId.random();
    private final SlowStore store = new SlowStore();
    private final InMemoryJobJournal journal = new InMemoryJobJournal(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
    private final AtomicInteger calls = new AtomicInteger();
    private int capacity = 1;
    private JobDispatcher dispatcher;

    @AfterEach
    void stop() {
        if (dispatcher != null) {
            dispatcher.stop().subscribe();
            time.advanceTime();
        }
        time.dispose();
    }

    private JobDispatcher start() {
        journal.register(id, 1);
        // The provider never answers: the job runs for the whole test.
        JobRunner runner = JobRunner.builder().endpoints(catalog)
                .clients((endpoint, provider) -> request -> Mono.<dev.beacon.runner.core.domain.InferenceOutput>never()
                        .doOnSubscribe(s -> calls.incrementAndGet()))
                .journal(journal).scheduler(time).runnerId("runner-a").build();
        dispatcher = new JobDispatcher(store, new Signals(), runner, new ExecutionPlanner(catalog),
                new DispatcherSettings("runner-a", capacity, LEASE, HEARTBEAT, POLL), Clock.fixed(Instant.EPOCH, ZoneOffset.UTC), time);
        dispatcher.start();
        time.advanceTime();
        return dispatcher;
    }

    @Test
    void heartbeatGoesOnWhenARenewalTakesLongerThanTheHeartbeat() {
        // Longer than a heartbeat, well inside the self-fencing limit (five sixths of the lease).
        store.renewalTakes = Duration.ofSeconds(3);
        start();
        assertThat(dispatcher.runningJobs()).containsExactly(id);

        time.advanceTimeBy(Duration.ofMinutes(1));

        // Renewals start at 2 s, then right after each ends, on the tick kept meanwhile: one every 3 s.
        // An overflowing heartbeat stopped after the first, and the run was then stopped for want of one.
        assertThat(store.renewals.get()).isGreaterThanOrEqualTo(18);
        assertThat(store.claims.get()).as("claims that returned the job").isEqualTo(1);
        assertThat(dispatcher.runningJobs()).containsExactly(id);
    }

    @Test
    void cancelPollGoesOnWhenAReadTakesLongerThanThePoll() {
        // Every read (the cancel check included) takes a second, five poll intervals.
        store.findTakes = Duration.ofSeconds(1);
        start();
        time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(journal.status(id)).isEqualTo(JobStatus.RUNNING);

        // Flagged in the store without a signal (as when the signal was lost): only the poll can see it.
        store.cancelRequested.set(true);
        time.advanceTimeBy(Duration.ofSeconds(10));

        List<StoredEvent> events = journal.events(id);
        assertThat(events.get(events.size() - 1).type()).isEqualTo("job.finished");
        assertThat(journal.status(id)).isEqualTo(JobStatus.CANCELLED);
    }

    @Test
    void aJobWhoseLeaseKeepsExpiringIsNeverClaimedAgainWhileItRunsHere() {
        // Its lease keeps expiring (say renewals wait for a busy pool): every claim poll could take it again.
        store.claimableAgain = true;
        capacity = 2;
        start();
        time.advanceTimeBy(Duration.ofSeconds(10));

        assertThat(store.excludedInClaims.get()).as("claims that named the running job as excluded").isPositive();
        assertThat(store.claims.get()).as("claims that returned the job").isEqualTo(1);
        assertThat(calls.get()).as("provider calls of the job's one cell").isEqualTo(1);
        assertThat(journal.events(id)).extracting(StoredEvent::type).containsOnlyOnce("job.started");
        assertThat(dispatcher.runningJobs()).containsExactly(id);
    }

    /** Signals nobody sends: the loops above must work on their own. */
    private static final class Signals implements JobSignals {
        private final Sinks.Many<Signal> sink = Sinks.many().multicast().directBestEffort();

        @Override
        public Mono<Void> publish(Signal signal) {
            return Mono.empty();
        }

        @Override
        public Flux<Signal> signals() {
            return sink.asFlux();
        }
    }

    /** One job to claim; renewals and reads take as long as the test says, on the virtual clock. */
    private final class SlowStore implements JobStore {
        volatile Duration renewalTakes = Duration.ZERO;
        volatile Duration findTakes = Duration.ZERO;
        volatile boolean claimableAgain;
        volatile long leaseUntil;
        final AtomicInteger renewals = new AtomicInteger();
        final AtomicInteger claims = new AtomicInteger();
        final AtomicInteger excludedInClaims = new AtomicInteger();
        final AtomicInteger tokens = new AtomicInteger();
        final AtomicBoolean claimed = new AtomicBoolean();
        final AtomicBoolean cancelRequested = new AtomicBoolean();

        private JobRecord record() {
            return new JobRecord(id, spec.name(), JobStatus.QUEUED, spec, null, Instant.EPOCH, null, null,
                    ExecutionCounts.allPending(1), null, "runner-a", cancelRequested.get());
        }

        @Override
        public Mono<ClaimedJob> claimNext(String owner, Duration lease) {
            return claim(owner, lease, 1, Set.of()).next();
        }

        @Override
        public Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded) {
            if (excluded.contains(id)) {
                excludedInClaims.incrementAndGet();
                return Flux.empty();
            }
            return Mono.fromSupplier(() -> {
                        long now = time.now(java.util.concurrent.TimeUnit.MILLISECONDS);
                        boolean again = claimableAgain && now >= leaseUntil;
                        if (claimed.compareAndSet(false, true) || again) {
                            leaseUntil = now + 1_000; // a lease that runs out after a second, renewed or not
                            return true;
                        }
                        return false;
                    })
                    .filter(claimable -> claimable)
                    .map(first -> {
                        claims.incrementAndGet();
                        return new ClaimedJob(record(), List.of(), new JobLease(id, owner, tokens.incrementAndGet()));
                    })
                    .flux();
        }

        @Override
        public Flux<JobId> renewLeases(String owner, Collection<JobId> jobs, Duration lease) {
            if (jobs.isEmpty()) {
                return Flux.empty();
            }
            return Mono.delay(renewalTakes, time).doOnSubscribe(s -> renewals.incrementAndGet()).thenMany(Flux.just(id));
        }

        @Override
        public Flux<JobId> releaseOwned(String owner, Set<JobId> kept) {
            return Flux.empty(); // nothing left by an earlier process
        }

        @Override
        public Mono<JobRecord> find(JobId jobId) {
            return Mono.delay(findTakes, time).map(t -> record());
        }

        @Override
        public Mono<Void> release(JobLease lease) {
            return Mono.empty();
        }

        @Override
        public Mono<Submission> submit(NewJob job) {
            return Mono.error(new UnsupportedOperationException());
        }

        @Override
        public Flux<JobId> retriesOf(JobId source) {
            return Flux.empty();
        }

        @Override
        public Flux<JobId> cancelRequested(java.util.Collection<JobId> jobs) {
            return Mono.delay(findTakes, time).flatMapMany(t -> cancelRequested.get() && jobs.contains(id) ? Flux.just(id) : Flux.empty());
        }

        @Override
        public Mono<Submission> retry(NewJob job, JobId source, java.util.Set<dev.beacon.runner.core.domain.ExecutionStatus> rerun) {
            return Mono.error(new UnsupportedOperationException());
        }

        @Override
        public Flux<JobRecord> list(JobQuery query) {
            return Flux.empty();
        }

        @Override
        public Flux<ExecutionResult> orderedExecutions(JobId jobId) {
            return Flux.empty();
        }

        @Override
        public Flux<StoredEvent> events(JobId jobId, long afterSeq) {
            return Flux.empty();
        }

        @Override
        public Flux<ExecutionResult> executions(JobId jobId) {
            return Flux.empty();
        }

        @Override
        public Mono<StoredEvent> append(JobId jobId, dev.beacon.runner.core.event.JobEvent event) {
            return Mono.error(new UnsupportedOperationException("the runner writes through its own journal"));
        }

        @Override
        public Mono<CancelOutcome> requestCancel(JobId jobId) {
            return Mono.error(new UnsupportedOperationException());
        }
    }
}
