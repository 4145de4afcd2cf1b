package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.JobSignals;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * {@link JobSignals} within one JVM: a signal published here reaches this instance's subscribers at
 * once and no one else. Enough for the embedded database (one instance); {@link R2dbcJobSignals} uses
 * it for local delivery and adds the other instances.
 *
 * <p>Best effort: a subscriber that is not keeping up misses signals rather than slowing the
 * publisher; signals only say "look again", so a reader that re-reads the store loses nothing.
 */
public final class LocalJobSignals implements JobSignals {

    private final Sinks.Many<Signal> sink = Sinks.many().multicast().directBestEffort();
    /** The jobs someone follows with {@link #signalsFor}, each with its own sink; a job nobody follows has none. */
    private final ConcurrentHashMap<JobId, Route> routes = new ConcurrentHashMap<>();

    /** One job's sink and how many subscribe to it. */
    private static final class Route {
        final Sinks.Many<Signal> sink = Sinks.many().multicast().directBestEffort();
        int subscribers; // guarded by the map's compute for this key
    }

    /** Delivers {@code signal} to current subscribers when subscribed to; never errors. */
    @Override
    public Mono<Void> publish(Signal signal) {
        Objects.requireNonNull(signal, "signal");
        return Mono.fromRunnable(() -> deliver(signal));
    }

    /**
     * Hot: signals published after subscription, each subscriber served on its own worker of the
     * parallel scheduler; never completes; on cancel the subscriber is removed.
     *
     * <p>Not on the publisher's thread: a subscriber may do real work on a signal (a cancel stops a
     * job and stores its rows), and doing it inside {@link #deliver}'s lock, on the thread of the write
     * that published, let that work wait on another write which was itself waiting for the lock — a
     * cancel request then never answered.
     */
    @Override
    public Flux<Signal> signals() {
        return sink.asFlux().publishOn(Schedulers.parallel());
    }

    /**
     * Hot: the signals about {@code jobId} published after subscription, routed to this job's
     * subscribers only, each served on its own worker of the parallel scheduler (as {@link #signals()});
     * never completes; on cancel the subscriber is removed, and the job's route with its last one.
     */
    @Override
    public Flux<Signal> signalsFor(JobId jobId) {
        Objects.requireNonNull(jobId, "jobId");
        return Flux.defer(() -> {
            Route route = routes.compute(jobId, (id, r) -> {
                Route held = r == null ? new Route() : r;
                held.subscribers++;
                return held;
            });
            return route.sink.asFlux()
                    .doFinally(signal -> routes.computeIfPresent(jobId, (id, r) -> --r.subscribers == 0 ? null : r));
        }).publishOn(Schedulers.parallel());
    }

    /** How many jobs have a route (someone following them); for tests. */
    int routedJobs() {
        return routes.size();
    }

    void deliver(Signal signal) {
        // A sink accepts one emitter at a time; publishers come from many threads.
        synchronized (sink) {
            sink.tryEmitNext(signal);
        }
        JobId job = Signal.jobOf(signal);
        Route route = job == null ? null : routes.get(job);
        if (route != null) {
            synchronized (route.sink) {
                route.sink.tryEmitNext(signal);
            }
        }
    }
}
