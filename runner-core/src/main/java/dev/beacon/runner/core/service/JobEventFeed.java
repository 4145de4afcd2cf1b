package dev.beacon.runner.core.service;

import dev.beacon.runner.core.dispatch.PeriodicLoop;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Streams a job's events to any number of subscribers: each gets the stored events after its
 * cursor, then the live ones, with no gap and no repeat at the seam.
 *
 * <p>Live events come from one shared feed per job, however many subscribers watch it: per wake-up
 * signal the feed takes the events the signal carries (those this instance just committed) when they
 * follow on from what it has, and otherwise reads the store (plus a slow poll, in case a signal was
 * lost); it multicasts each round as one batch. Taking them spares the database a read, and the
 * store's event loop a decode, of every event the instance has just written. Each subscriber joins
 * the feed before reading its replay, buffers what the feed sends meanwhile, and drops what its
 * replay already covered.
 *
 * <p>Batches are what make a thousand subscribers cheap: each read is one signal through each
 * subscriber's operators, not one per event, and a batch past the seam reaches every subscriber as
 * the same list (so a writer can encode it once for all of them).
 */
final class JobEventFeed {

    /** Longest wait for one read of the log; the store's own timeout normally comes first. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    /** Most stored events per batch of a replay: bounds what one subscriber holds before it writes. */
    static final int REPLAY_BATCH = 256;

    private final JobStore store;
    private final JobSignals signals;
    private final Duration pollInterval;
    private final Scheduler scheduler;
    private final Map<JobId, Flux<List<StoredEvent>>> feeds = new ConcurrentHashMap<>();
    private final Sinks.Empty<Void> closed = Sinks.empty();

    JobEventFeed(JobStore store, JobSignals signals, Duration pollInterval, Scheduler scheduler) {
        this.store = store;
        this.signals = signals;
        this.pollInterval = pollInterval;
        this.scheduler = scheduler;
    }

    /**
     * Events of {@code jobId} with {@code seq > afterSeq}, stored then live, completing after
     * {@code job.finished}. On error emits the store's error. On cancel leaves the shared feed, which
     * stops when its last subscriber leaves.
     */
    Flux<StoredEvent> events(JobId jobId, long afterSeq) {
        return batches(jobId, afterSeq).concatMapIterable(batch -> batch);
    }

    /**
     * The events of {@link #events} in non-empty lists, in order: the replay in lists of up to
     * {@value #REPLAY_BATCH}, then each read of the shared feed as one list, shared by every
     * subscriber that has seen all before it (never modify one). Same error and cancel behaviour.
     */
    Flux<List<StoredEvent>> batches(JobId jobId, long afterSeq) {
        return Flux.defer(() -> {
            AtomicLong last = new AtomicLong(afterSeq);
            Sinks.Many<List<StoredEvent>> live = Sinks.many().unicast().onBackpressureBuffer();
            // The shared feed emits serially, so tryEmit only fails once this subscriber is gone.
            Disposable joined = sharedFeed(jobId).subscribe(live::tryEmitNext, live::tryEmitError, live::tryEmitComplete);
            return Flux.concat(store.events(jobId, afterSeq).buffer(REPLAY_BATCH), live.asFlux())
                    .<List<StoredEvent>>handle((batch, sink) -> {
                        List<StoredEvent> unseen = unseen(batch, last.get());
                        if (!unseen.isEmpty()) {
                            last.set(lastOf(unseen).seq());
                            sink.next(unseen);
                        }
                    })
                    .takeUntil(batch -> lastOf(batch).isTerminal())
                    .doFinally(signal -> joined.dispose());
        });
    }

    /**
     * The events of {@code batch} after {@code seq}, up to its terminal event: the batch itself when
     * all of it is new (the common case past the seam), so the shared list reaches every subscriber.
     */
    static List<StoredEvent> unseen(List<StoredEvent> batch, long seq) {
        int from = 0;
        while (from < batch.size() && batch.get(from).seq() <= seq) {
            from++;
        }
        int to = from;
        while (to < batch.size() && !batch.get(to).isTerminal()) {
            to++;
        }
        to = Math.min(to + 1, batch.size());
        return from == 0 && to == batch.size() ? batch : List.copyOf(batch.subList(from, to));
    }

    private static StoredEvent lastOf(List<StoredEvent> batch) {
        return batch.get(batch.size() - 1);
    }

    /** Ends every feed (its subscribers complete) and every later one at once: the service is shutting down. */
    void close() {
        closed.tryEmitEmpty();
    }

    private Flux<List<StoredEvent>> sharedFeed(JobId jobId) {
        return feeds.computeIfAbsent(jobId, this::newFeed);
    }

    private Flux<List<StoredEvent>> newFeed(JobId id) {
        @SuppressWarnings("unchecked")
        Flux<List<StoredEvent>>[] self = new Flux[1];
        self[0] = Flux.defer(() -> {
                    AtomicLong feedLast = new AtomicLong();
                    Handoff handoff = new Handoff();
                    Flux<Object> wakeups = Flux.merge(
                                    Mono.just(Boolean.TRUE),
                                    signals.signalsFor(id).filter(s -> s instanceof JobSignals.Signal.EventsAppended),
                                    Flux.interval(pollInterval, pollInterval, scheduler))
                            // Every wake-up is recorded, also those that a round in progress collapses into one.
                            .doOnNext(handoff::offer);
                    // A failed or stalled read (the database away) is logged and retried at the next
                    // wake-up: subscribers stay connected through a database outage. The cursor moves
                    // only with a whole read, so a read that fails half-way is read again in full; the
                    // events handed over meanwhile are then behind a gap, which makes the next round read.
                    return PeriodicLoop.rounds("event feed of job " + id, wakeups, READ_TIMEOUT, scheduler, () -> {
                                List<StoredEvent> handed = handoff.take(feedLast.get());
                                Mono<List<StoredEvent>> round = handed != null
                                        ? Mono.just(handed)
                                        : store.events(id, feedLast.get()).collectList();
                                return round.filter(events -> !events.isEmpty()).doOnNext(events -> feedLast.set(lastOf(events).seq()));
                            })
                            .takeUntil(read -> lastOf(read).isTerminal())
                            .takeUntilOther(closed.asMono());
                })
                // Forget the feed once it ends, but never a newer one that replaced it.
                .doFinally(signal -> feeds.remove(id, self[0]))
                .publish()
                .refCount(1);
        return self[0];
    }

    /**
     * What the wake-ups of one feed brought since its last round: the events that signals carried,
     * and whether anything asked for a read of the store (the first round, the poll, a signal with a
     * seq alone, as from another instance).
     */
    static final class Handoff {
        private final List<StoredEvent> handed = new ArrayList<>(); // guarded by this
        private boolean readWanted = true; // guarded by this

        synchronized void offer(Object wakeup) {
            if (wakeup instanceof JobSignals.Signal.EventsAppended appended && !appended.events().isEmpty()) {
                handed.addAll(appended.events());
            } else {
                readWanted = true;
            }
        }

        /**
         * The events handed over since the last call that come after {@code last}, in order, if they
         * follow on from it without a gap (possibly none); {@code null} if this round must read the
         * store instead: a read was asked for, or a signal was lost or overtaken by a later one.
         */
        synchronized @Nullable List<StoredEvent> take(long last) {
            List<StoredEvent> fresh = handed.stream().filter(e -> e.seq() > last)
                    .sorted(Comparator.comparingLong(StoredEvent::seq)).toList();
            handed.clear();
            if (readWanted) {
                readWanted = false;
                return null; // the read covers what was handed over
            }
            for (int i = 0; i < fresh.size(); i++) {
                if (fresh.get(i).seq() != last + 1 + i) {
                    return null;
                }
            }
            return fresh;
        }
    }
}
