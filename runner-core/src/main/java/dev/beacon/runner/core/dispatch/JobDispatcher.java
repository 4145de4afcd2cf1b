package dev.beacon.runner.core.dispatch;

import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.engine.JobRun;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.SpecValidationException;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.OwnershipLostException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Takes queued (or orphaned) jobs from the store and runs them on this instance, up to its
 * capacity, oldest first. Woken at once by a {@code JobAvailable} signal, and by a poll in case a
 * signal was lost.
 *
 * <p>Runs of one job never overlap, whatever the database does:
 * <ul>
 *   <li>every claim carries a fencing token ({@link JobLease}); the run writes under it, and the store
 *       refuses its writes once the job was claimed again, by anyone;</li>
 *   <li>leases are renewed on a heartbeat, for the jobs running here only, and measured on the
 *       database's clock;</li>
 *   <li>a run whose lease has not been renewed for {@link DispatcherSettings#selfFenceAfter()} is
 *       stopped here (in-flight calls cancelled, nothing more written) before its lease can end, so a
 *       stalled database can never leave two runs of one job alive;</li>
 *   <li>a claim never takes a job that still runs here, and a job held under this instance's name
 *       that does not run here (left by an earlier process with the same name, or by a run that
 *       stopped without releasing) is released, so that it resumes at once.</li>
 * </ul>
 * Every periodic task is a {@link PeriodicLoop}: a late tick is kept (one at most), a slow round is
 * cut off by its timeout, an error is logged and the loop goes on.
 */
public final class JobDispatcher {

    private static final Logger log = LoggerFactory.getLogger(JobDispatcher.class);
    /** Most jobs claimed in one go (one store transaction on PostgreSQL). */
    static final int CLAIM_BATCH = 32;

    private final JobStore store;
    private final JobSignals signals;
    private final JobRunner runner;
    private final ExecutionPlanner planner;
    private final DispatcherSettings settings;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Map<JobId, Run> running = new ConcurrentHashMap<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile Disposable.Composite loops = Disposables.composite();

    /** One run of a job on this instance: its lease, its subscription, and when its lease was last renewed. */
    private static final class Run {
        final JobLease lease;
        final Disposable.Swap subscription = Disposables.swap();
        /** Completed by the dispatcher's cancel check when the store says a cancel was requested. */
        final Sinks.Empty<Void> cancelSeen = Sinks.empty();
        /** Scheduler time (ms) at which the last successful renewal (or the claim) was sent. */
        volatile long renewalSentAt;

        Run(JobLease lease, long claimSentAt) {
            this.lease = lease;
            this.renewalSentAt = claimSentAt;
        }

        void renewed(long sentAt) {
            if (sentAt > renewalSentAt) {
                renewalSentAt = sentAt;
            }
        }
    }

    public JobDispatcher(JobStore store, JobSignals signals, JobRunner runner, ExecutionPlanner planner,
                         DispatcherSettings settings, Clock clock, Scheduler scheduler) {
        this.store = Objects.requireNonNull(store, "store");
        this.signals = Objects.requireNonNull(signals, "signals");
        this.runner = Objects.requireNonNull(runner, "runner");
        this.planner = Objects.requireNonNull(planner, "planner");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    public DispatcherSettings settings() {
        return settings;
    }

    public boolean isRunning() {
        return started.get();
    }

    /** Ids of the jobs this instance runs right now. */
    public Set<JobId> runningJobs() {
        return Set.copyOf(running.keySet());
    }

    /**
     * Starts the three loops; idempotent.
     * <ul>
     *   <li>claiming: at start, on {@code JobAvailable} and every poll interval — release orphaned
     *       claims, then claim while there is capacity (a round may take up to one lease);</li>
     *   <li>renewal: every heartbeat (a round may take until the self-fencing limit);</li>
     *   <li>self-fencing watchdog: four times per heartbeat, in memory only, so it goes on even when
     *       every database call hangs;</li>
     *   <li>cancel check: every poll interval, one query for all the jobs running here (the safety
     *       net under the cancel signal; a round may take up to one lease).</li>
     * </ul>
     */
    public void start() {
        if (!started.compareAndSet(false, true)) {
            return;
        }
        Flux<Object> wakeups = Flux.merge(
                Mono.just(Boolean.TRUE),
                signals.signals().filter(s -> s instanceof JobSignals.Signal.JobAvailable),
                PeriodicLoop.every(settings.pollInterval(), scheduler));
        Disposable.Composite composite = Disposables.composite();
        composite.add(PeriodicLoop.start("claiming jobs", wakeups, settings.lease(), scheduler,
                () -> releaseOrphans().then(claimWhileCapacity())));
        // A renewal may take longer than a heartbeat and still count; past the self-fencing limit it no longer can.
        composite.add(PeriodicLoop.start("renewing leases", PeriodicLoop.every(settings.heartbeat(), scheduler), settings.selfFenceAfter(),
                scheduler, this::renewLeases));
        composite.add(PeriodicLoop.start("cancel check", PeriodicLoop.every(settings.pollInterval(), scheduler), settings.lease(),
                scheduler, this::checkCancels));
        composite.add(PeriodicLoop.start("self-fencing watchdog", PeriodicLoop.every(settings.heartbeat().dividedBy(4), scheduler),
                settings.heartbeat(), scheduler, () -> Mono.fromRunnable(this::stopRunsPastTheirLease)));
        loops = composite;
        log.info("dispatcher {} started: capacity {}, lease {}, heartbeat {}, runs stop {} after their last renewal",
                settings.instanceId(), settings.capacity(), settings.lease(), settings.heartbeat(), settings.selfFenceAfter());
    }

    /**
     * Stops taking work and stops the jobs running here, releasing their leases so that another
     * instance (or this one after a restart) resumes them at once; stored rows stay, in-flight cells
     * run again on resume. Completes when the leases are released (each release waits at most one
     * heartbeat); errors are logged, not emitted.
     */
    public Mono<Void> stop() {
        return Mono.defer(() -> {
            if (!started.compareAndSet(true, false)) {
                return Mono.empty();
            }
            loops.dispose();
            var runs = List.copyOf(running.values());
            runs.forEach(run -> run.subscription.dispose());
            log.info("dispatcher {} stopping; releasing {} running job(s)", settings.instanceId(), runs.size());
            return Flux.fromIterable(runs)
                    .flatMap(run -> release(run.lease))
                    .then(signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(e -> Mono.empty()));
        });
    }

    /**
     * Releases what this instance's name holds but does not run (see the class comment). Runs in the
     * claiming loop, before its claims, so that it can never release a job claimed meanwhile.
     */
    private Mono<Void> releaseOrphans() {
        return store.releaseOwned(settings.instanceId(), Set.copyOf(running.keySet()))
                .doOnNext(id -> log.info("released job {}: held under this instance's name ({}) but not running here",
                        id, settings.instanceId()))
                .then();
    }

    private Mono<Void> claimWhileCapacity() {
        return Mono.defer(() -> {
            if (!started.get() || running.size() >= settings.capacity()) {
                return Mono.empty();
            }
            // Several at a time: a burst of submissions is claimed in a few transactions, not one each.
            int wanted = Math.min(settings.capacity() - running.size(), CLAIM_BATCH);
            long sentAt = now();
            return store.claim(settings.instanceId(), settings.lease(), wanted, Set.copyOf(running.keySet()))
                    .doOnNext(claimed -> launch(claimed, sentAt))
                    .count()
                    .flatMap(claimed -> claimed < wanted ? Mono.<Void>empty() : claimWhileCapacity());
        });
    }

    private void launch(ClaimedJob claimed, long claimSentAt) {
        JobRecord job = claimed.job();
        JobId id = job.id();
        JobLease lease = claimed.lease();
        if (!started.get()) {
            release(lease).subscribe(); // stopped while the claim was on its way
            return;
        }
        // Registered before it starts, removed when it ends: a synchronous finish cannot leave a stale
        // entry that would hold a unit of capacity forever.
        Run run = new Run(lease, claimSentAt);
        running.put(id, run);
        Flux<?> work;
        try {
            ExecutionPlan plan = planner.plan(id, job.spec());
            Mono<Object> cancellation = cancellationOf(job);
            // A resumed job: which questions already have their question.finished (see JobRun).
            Mono<Set<Integer>> finishedQuestions = claimed.stored().isEmpty() ? Mono.just(Set.of())
                    : store.events(id, 0)
                            .filter(e -> e.event() instanceof JobEvent.QuestionFinished)
                            .map(e -> ((JobEvent.QuestionFinished) e.event()).index())
                            .collect(Collectors.toSet());
            work = finishedQuestions.flatMapMany(finished ->
                    runner.run(new JobRun(plan, claimed.stored(), job.startedAt(), cancellation, finished)));
        } catch (SpecValidationException e) {
            // The configuration changed since the job was accepted; it can never run here.
            log.warn("job {} cannot run on this configuration: {}", id, e.getMessage());
            work = failUnplannable(job, e.getMessage()).flux();
        }
        run.subscription.update(work
                .contextWrite(lease::writeTo)
                .doFinally(signal -> running.remove(id, run))
                .subscribe(
                        e -> {
                        },
                        e -> {
                            if (isOwnershipLost(e)) {
                                // Fenced: the job was claimed again since; its new run resumes it. Nothing to release.
                                log.warn("job {} stopped here: its lease was lost ({})", id, e.getMessage());
                                return;
                            }
                            log.error("job {} stopped by a storage error; releasing it to be resumed", id, e);
                            release(lease).subscribe();
                        },
                        () -> signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(x -> Mono.empty()).subscribe()));
    }

    /** Releases {@code lease} and wakes the instances; waits at most a heartbeat, logs instead of failing. */
    private Mono<Void> release(JobLease lease) {
        return store.release(lease)
                .timeout(settings.heartbeat(), scheduler)
                .then(signals.publish(new JobSignals.Signal.JobAvailable()))
                .onErrorResume(e -> {
                    log.warn("could not release job {} (it stays claimed until its lease ends): {}", lease.jobId(), e.toString());
                    return Mono.empty();
                });
    }

    private static boolean isOwnershipLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OwnershipLostException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Signals when a cancel was requested: already flagged at claim time, signalled, or seen by a slow
     * poll (a {@link PeriodicLoop}: a failed or slow check is logged and the next poll checks again).
     */
    private Mono<Object> cancellationOf(JobRecord job) {
        if (job.cancelRequested()) {
            return Mono.just(Boolean.TRUE);
        }
        Flux<Object> signalled = signals.signalsFor(job.id())
                .filter(s -> s instanceof JobSignals.Signal.CancelRequested)
                .map(s -> s);
        // The dispatcher's cancel check (one query for every job running here) completes this.
        Run run = running.get(job.id());
        Mono<Object> polled = run == null ? Mono.never() : run.cancelSeen.asMono().then(Mono.just(Boolean.TRUE));
        return Flux.merge(signalled, polled).next();
    }

    private Mono<Void> failUnplannable(JobRecord job, @Nullable String reason) {
        var now = clock.instant();
        ExecutionError error = new ExecutionError("UNPLANNABLE", reason);
        return Flux.fromIterable(CellLayout.cells(job.spec()))
                .concatMap(cell -> store.append(job.id(), new JobEvent.ExecutionFinished(
                        ExecutionResult.notRun(cell, ExecutionStatus.FAILED, error, now))))
                .then(store.append(job.id(), new JobEvent.JobFinished(JobStatus.FAILED, job.counts())))
                .onErrorResume(e -> {
                    log.error("could not fail job {}", job.id(), e);
                    return Mono.empty();
                })
                .then();
    }

    /** Asks the store which of the jobs running here have a cancel requested, and tells their runs. */
    private Mono<Void> checkCancels() {
        Map<JobId, Run> checking = Map.copyOf(running);
        if (checking.isEmpty()) {
            return Mono.empty();
        }
        return store.cancelRequested(checking.keySet())
                .doOnNext(id -> {
                    Run run = checking.get(id);
                    if (run != null) {
                        run.cancelSeen.tryEmitEmpty();
                    }
                })
                .then();
    }

    /**
     * Renews the leases of the jobs running here (and only those). A job whose lease was not renewed
     * (lost to another instance, released, or just finished) is stopped here at once.
     */
    private Mono<Void> renewLeases() {
        Map<JobId, Run> renewing = Map.copyOf(running);
        if (renewing.isEmpty()) {
            return Mono.empty();
        }
        long sentAt = now();
        return store.renewLeases(settings.instanceId(), renewing.keySet(), settings.lease())
                .collect(Collectors.toSet())
                .doOnNext(renewed -> renewing.forEach((id, run) -> {
                    if (renewed.contains(id)) {
                        run.renewed(sentAt);
                    } else if (running.remove(id, run)) {
                        log.warn("lost the lease of job {} (another instance took it over, or it finished just now); stopping it here", id);
                        run.subscription.dispose();
                    }
                }))
                .then();
    }

    /**
     * Stops every run whose lease has gone {@link DispatcherSettings#selfFenceAfter()} without a
     * renewal: the database did not answer, so the lease may end soon and another run may start.
     * Removing the run first lets the next claim (here or elsewhere) resume the job.
     */
    private void stopRunsPastTheirLease() {
        long now = now();
        long limit = settings.selfFenceAfter().toMillis();
        running.forEach((id, run) -> {
            long since = now - run.renewalSentAt;
            if (since > limit && running.remove(id, run)) {
                log.warn("job {}: lease not renewed for {} ms (the database did not answer); stopping its run here before the lease "
                        + "can end, so that whoever resumes it runs alone", id, since);
                run.subscription.dispose();
            }
        });
    }

    private long now() {
        return scheduler.now(TimeUnit.MILLISECONDS);
    }
}
