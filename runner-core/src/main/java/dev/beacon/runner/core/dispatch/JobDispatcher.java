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
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.OwnershipLostException;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Takes queued (or orphaned) jobs from the store and runs them on this instance, up to its
 * capacity, oldest first. Woken at once by a {@code JobAvailable} signal, and by a poll in case a
 * signal was lost. Keeps its claims alive with a heartbeat; a job whose lease it lost is stopped at
 * once (fencing), since another instance now owns it.
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
    private final Map<JobId, Disposable> running = new ConcurrentHashMap<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean claiming = new AtomicBoolean();
    private volatile Disposable.Composite loops = Disposables.composite();

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

    /** Starts claiming and the lease heartbeat; idempotent. */
    public void start() {
        if (!started.compareAndSet(false, true)) {
            return;
        }
        Disposable.Composite composite = Disposables.composite();
        Flux<Object> wakeups = Flux.merge(
                releaseLeftovers().thenReturn(Boolean.TRUE),
                signals.signals().filter(s -> s instanceof JobSignals.Signal.JobAvailable),
                Flux.interval(settings.pollInterval(), scheduler));
        composite.add(wakeups
                .onBackpressureLatest()
                .concatMap(tick -> claimWhileCapacity().onErrorResume(e -> {
                    log.warn("claiming jobs failed, will retry: {}", e.toString());
                    return Mono.empty();
                }), 1)
                .subscribe());
        // A tick that comes while the previous renewal still runs is dropped: without that, one renewal
        // slower than the heartbeat (a busy pool) overflowed the interval, which ended the heartbeat for
        // good; the leases then expired and this instance claimed its own jobs again, running each twice.
        composite.add(Flux.interval(settings.heartbeat(), scheduler)
                .onBackpressureDrop()
                .concatMap(tick -> renewLeases().onErrorResume(e -> {
                    log.warn("renewing leases failed, will retry: {}", e.toString());
                    return Mono.empty();
                }), 1)
                .subscribe());
        loops = composite;
        log.info("dispatcher {} started: capacity {}, lease {}, heartbeat {}", settings.instanceId(), settings.capacity(),
                settings.lease(), settings.heartbeat());
    }

    /**
     * Stops taking work and stops the jobs running here, releasing their leases so that another
     * instance (or this one after a restart) resumes them at once; stored rows stay, in-flight cells
     * run again on resume. Completes when the leases are released; errors are logged, not emitted.
     */
    public Mono<Void> stop() {
        return Mono.defer(() -> {
            if (!started.compareAndSet(true, false)) {
                return Mono.empty();
            }
            loops.dispose();
            var jobs = Map.copyOf(running);
            jobs.values().forEach(Disposable::dispose);
            log.info("dispatcher {} stopping; releasing {} running job(s)", settings.instanceId(), jobs.size());
            return Flux.fromIterable(jobs.keySet())
                    .flatMap(id -> store.release(id, settings.instanceId())
                            .onErrorResume(e -> {
                                log.warn("could not release job {}: {}", id, e.toString());
                                return Mono.empty();
                            }))
                    .then(signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(e -> Mono.empty()));
        });
    }

    /**
     * Releases the jobs still held under this instance's id while it runs none: leases of an earlier
     * process with the same configured id, which this instance's heartbeat would otherwise keep alive
     * forever. Runs before the first claim; on error logs and completes (the leases then expire).
     */
    private Mono<Void> releaseLeftovers() {
        return Mono.defer(() -> {
            if (!running.isEmpty()) {
                return Mono.empty();
            }
            return store.renewLeases(settings.instanceId(), settings.lease())
                    .concatMap(id -> {
                        log.info("releasing job {}, left claimed by an earlier process named {}", id, settings.instanceId());
                        return store.release(id, settings.instanceId());
                    })
                    .then();
        }).onErrorResume(e -> {
            log.warn("could not release jobs left by an earlier process named {}: {}", settings.instanceId(), e.toString());
            return Mono.empty();
        });
    }

    private Mono<Void> claimWhileCapacity() {
        return Mono.defer(() -> {
            if (!started.get() || running.size() >= settings.capacity()) {
                return Mono.empty();
            }
            // Several at a time: a burst of submissions is claimed in a few transactions, not one each.
            int wanted = Math.min(settings.capacity() - running.size(), CLAIM_BATCH);
            return store.claim(settings.instanceId(), settings.lease(), wanted)
                    .doOnNext(this::launch)
                    .count()
                    .flatMap(claimed -> claimed < wanted ? Mono.<Void>empty() : claimWhileCapacity());
        });
    }

    private void launch(ClaimedJob claimed) {
        JobRecord job = claimed.job();
        JobId id = job.id();
        if (running.containsKey(id)) {
            // Its lease ran out while it ran here (renewals kept waiting) and this instance took it back:
            // the claim renewed the lease; the run already going on stays the only one.
            log.warn("job {} claimed again while it runs here (its lease had expired); it keeps its one run", id);
            return;
        }
        ExecutionPlan plan;
        try {
            plan = planner.plan(id, job.spec());
        } catch (SpecValidationException e) {
            // The configuration changed since the job was accepted; it can never run here.
            log.warn("job {} cannot run on this configuration: {}", id, e.getMessage());
            // Registered before it starts, removed when it ends: a synchronous finish cannot leave a
            // stale entry that would hold a unit of capacity forever.
            Disposable.Swap failing = Disposables.swap();
            running.put(id, failing);
            failing.update(failUnplannable(job, e.getMessage()).doFinally(s -> running.remove(id, failing)).subscribe());
            return;
        }
        Mono<Object> cancellation = cancellationOf(job);
        // A resumed job: which questions already have their question.finished (see JobRun).
        Mono<Set<Integer>> finishedQuestions = claimed.stored().isEmpty() ? Mono.just(Set.of())
                : store.events(id, 0)
                        .filter(e -> e.event() instanceof JobEvent.QuestionFinished)
                        .map(e -> ((JobEvent.QuestionFinished) e.event()).index())
                        .collect(java.util.stream.Collectors.toSet());
        Disposable.Swap slot = Disposables.swap();
        running.put(id, slot);
        slot.update(finishedQuestions
                .flatMapMany(finished -> runner.run(new JobRun(plan, claimed.stored(), job.startedAt(), cancellation, finished)))
                .doFinally(signal -> running.remove(id, slot))
                .subscribe(
                        e -> {
                        },
                        e -> {
                            if (isOwnershipLost(e)) {
                                // Fenced: another instance owns the job now and resumes it; nothing to release.
                                log.warn("job {} stopped here: its lease was lost to another instance ({})", id, e.getMessage());
                                return;
                            }
                            log.error("job {} stopped by a storage error; releasing it to be resumed", id, e);
                            // release(id, owner) clears only while this instance still owns the job.
                            store.release(id, settings.instanceId()).onErrorResume(x -> Mono.empty())
                                    .then(signals.publish(new JobSignals.Signal.JobAvailable()))
                                    .onErrorResume(x -> Mono.empty()).subscribe();
                        },
                        () -> signals.publish(new JobSignals.Signal.JobAvailable()).onErrorResume(x -> Mono.empty()).subscribe()));
    }

    private static boolean isOwnershipLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OwnershipLostException) {
                return true;
            }
        }
        return false;
    }

    /** Signals when a cancel was requested: already flagged at claim time, signalled, or seen by a slow poll. */
    private Mono<Object> cancellationOf(JobRecord job) {
        if (job.cancelRequested()) {
            return Mono.just(Boolean.TRUE);
        }
        Flux<Object> signalled = signals.signals()
                .filter(s -> s instanceof JobSignals.Signal.CancelRequested c && c.jobId().equals(job.id()))
                .map(s -> s);
        // Ticks during a slow read are dropped, never overflow: an overflow ended the poll silently.
        Flux<Object> polled = Flux.interval(settings.pollInterval(), scheduler)
                .onBackpressureDrop()
                .concatMap(t -> store.find(job.id()).onErrorResume(e -> Mono.empty()), 1)
                .filter(JobRecord::cancelRequested)
                .map(j -> j);
        return Flux.merge(signalled, polled).next();
    }

    private Mono<Void> failUnplannable(JobRecord job, String reason) {
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

    private Mono<Void> renewLeases() {
        // Only jobs running before the renewal was asked can have missed it; later claims are fresh.
        Set<JobId> before = Set.copyOf(running.keySet());
        if (before.isEmpty()) {
            return Mono.empty();
        }
        return store.renewLeases(settings.instanceId(), settings.lease())
                .collectList()
                .doOnNext(renewed -> {
                    for (JobId id : before) {
                        if (!renewed.contains(id)) {
                            // Lost the lease (paused too long, or the job finished meanwhile): another
                            // instance may own it now, so stop writing as its owner.
                            Disposable d = running.remove(id);
                            if (d != null) {
                                log.warn("lost the lease of job {} (another instance took it over, or it finished just now); "
                                        + "stopping it here", id);
                                d.dispose();
                            }
                        }
                    }
                })
                .then();
    }
}
