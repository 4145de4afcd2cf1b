package dev.beacon.runner.persistence;

import dev.beacon.runner.core.store.JobSignals;
import java.util.Objects;
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

    void deliver(Signal signal) {
        // A sink accepts one emitter at a time; publishers come from many threads.
        synchronized (sink) {
            sink.tryEmitNext(signal);
        }
    }
}
