package dev.beacon.runner.persistence;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Group commit: writes submitted while earlier writes are in flight are coalesced into one batch (one
 * transaction, one commit) of at most {@code maxBatch} items, with at most {@code maxInFlight} batches
 * running at once. A lone write starts at once: nothing waits for a timer, an item only waits for a
 * batch slot, so under light load each write is its own transaction and under heavy load batches grow.
 * Given a key (the store's: the job), at most one batch per key is in flight: an item whose key has
 * one waits for the next batch, in arrival order; and batches started together share the keys out
 * between them, so that one batch does not take every job and leave the other slots idle.
 *
 * <p>Each caller's {@code Mono} completes only after the batch holding its item committed. If a batch
 * of several items fails, each item is retried alone, so one bad item fails only its own caller.
 *
 * @param <T> what a caller submits
 * @param <R> what a caller receives
 */
final class GroupCommit<T, R> {

    /** The outcome of one item of a batch: a value, nothing ({@code value == null}), or an error. */
    record Outcome<R>(@Nullable R value, @Nullable Throwable error) {

        static <R> Outcome<R> of(R value) {
            return new Outcome<>(value, null);
        }

        static <R> Outcome<R> empty() {
            return new Outcome<>(null, null);
        }

        static <R> Outcome<R> failed(Throwable error) {
            return new Outcome<>(null, Objects.requireNonNull(error));
        }
    }

    /** One queued item, and where its outcome goes once its batch is written. */
    private record Pending<T, R>(T item, Consumer<Outcome<R>> done, AtomicBoolean cancelled) {
    }

    /**
     * The fewest items a batch is given when eligible items are shared out over free slots: below
     * that, a statement's fixed cost (about 0.5 ms on PostgreSQL, against about 50 µs per row) outweighs
     * running side by side, and the items go in one batch.
     */
    static final int MIN_SHARED_BATCH = 16;

    private final int maxBatch;
    private final int maxInFlight;
    /** The item's key (a job): at most one batch per key is in flight; {@code null}: no such rule. */
    private final @Nullable Function<T, Object> key;
    private final Function<List<T>, Mono<List<Outcome<R>>>> writer;
    /** Guards {@link #pending}, {@link #busy} and {@link #inFlight}; held only to pick a batch, never while writing. */
    private final Object lock = new Object();
    private final Deque<Pending<T, R>> pending = new ArrayDeque<>();
    private final Set<Object> busy = new HashSet<>();
    private int inFlight;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong items = new AtomicLong();

    /**
     * @param writer writes a batch in one transaction and emits one outcome per item, in item order,
     *               after the commit; an error means nothing of the batch was committed (or it is unknown)
     */
    GroupCommit(int maxBatch, int maxInFlight, Function<List<T>, Mono<List<Outcome<R>>>> writer) {
        this(maxBatch, maxInFlight, null, writer);
    }

    /**
     * As {@link #GroupCommit(int, int, Function)}, with at most one batch in flight per {@code key}: an
     * item whose key has a batch in flight waits for the next one. Items of one job then share a batch
     * instead of each starting a one-row batch that queues on the job's row lock behind the others,
     * while batches of other jobs still run side by side.
     */
    GroupCommit(int maxBatch, int maxInFlight, @Nullable Function<T, Object> key, Function<List<T>, Mono<List<Outcome<R>>>> writer) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, but was " + maxBatch);
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1, but was " + maxInFlight);
        }
        this.maxBatch = maxBatch;
        this.maxInFlight = maxInFlight;
        this.key = key;
        this.writer = Objects.requireNonNull(writer, "writer");
    }

    /**
     * Queues {@code item} and emits its outcome once its batch committed. On cancel before the item was
     * taken into a batch, it is never written; after that, it may or may not commit.
     */
    Mono<R> submit(T item) {
        return Mono.create(sink -> {
            AtomicBoolean cancelled = new AtomicBoolean();
            sink.onCancel(() -> cancelled.set(true));
            enqueue(List.of(new Pending<T, R>(item, outcome -> complete(sink, outcome), cancelled)));
        });
    }

    /**
     * Queues {@code items} together, in order, so that they share a batch as far as {@code maxBatch}
     * allows (one by one, the first would start a batch of its own while the others queue behind it),
     * and emits their outcomes in item order once every one of them is written; errors with the first
     * item's error after the others are done (any of them may have committed). On cancel before the
     * items were taken into a batch, none is written; after that, they may or may not commit.
     */
    Mono<List<Outcome<R>>> submitAll(List<T> items) {
        if (items.isEmpty()) {
            return Mono.just(List.of());
        }
        return Mono.create(sink -> {
            AtomicBoolean cancelled = new AtomicBoolean();
            sink.onCancel(() -> cancelled.set(true));
            AtomicReferenceArray<Outcome<R>> outcomes = new AtomicReferenceArray<>(items.size());
            AtomicInteger remaining = new AtomicInteger(items.size());
            List<Pending<T, R>> queued = new ArrayList<>(items.size());
            for (int i = 0; i < items.size(); i++) {
                int index = i;
                queued.add(new Pending<>(items.get(i), outcome -> {
                    outcomes.set(index, outcome);
                    if (remaining.decrementAndGet() == 0) { // the last outcome: every set is visible here
                        List<Outcome<R>> all = new ArrayList<>(items.size());
                        for (int o = 0; o < items.size(); o++) {
                            all.add(outcomes.get(o));
                        }
                        Throwable error = all.stream().map(Outcome::error).filter(Objects::nonNull).findFirst().orElse(null);
                        if (error != null) {
                            sink.error(error);
                        } else {
                            sink.success(all);
                        }
                    }
                }, cancelled));
            }
            enqueue(queued);
        });
    }

    private void enqueue(List<Pending<T, R>> items) {
        boolean mayStart = false;
        synchronized (lock) {
            for (Pending<T, R> item : items) {
                pending.add(item);
                // After every drain, a free slot means no queued item can start; a new item whose key
                // has a batch in flight cannot either, so scanning the queue again would find nothing.
                mayStart |= inFlight < maxInFlight && (key == null || !busy.contains(key.apply(item.item())));
            }
        }
        if (mayStart) {
            drain();
        }
    }

    /** Batches written so far, and items in them: their ratio is the average batch size. */
    long batches() {
        return batches.get();
    }

    long items() {
        return items.get();
    }

    /**
     * Starts as many batches as there are free slots and eligible items, in arrival order, skipping
     * items whose key has a batch in flight (they stay queued, in order, for a later batch). Every
     * batch's end frees its slot and keys and drains again, so no queued item is left behind: an item
     * skipped for its key is picked up when that key's batch ends.
     */
    private void drain() {
        List<List<Pending<T, R>>> started = new ArrayList<>();
        List<Set<Object>> startedKeys = new ArrayList<>();
        synchronized (lock) {
            while (inFlight < maxInFlight && !pending.isEmpty()) {
                List<Pending<T, R>> batch = new ArrayList<>();
                Set<Object> keys = new HashSet<>();
                int keyLimit = keysPerBatch(maxInFlight - inFlight);
                for (Iterator<Pending<T, R>> it = pending.iterator(); it.hasNext() && batch.size() < maxBatch; ) {
                    Pending<T, R> next = it.next();
                    if (next.cancelled().get()) {
                        it.remove();
                        continue;
                    }
                    Object k = key == null ? null : key.apply(next.item());
                    if (k != null && (busy.contains(k) || (!keys.contains(k) && keys.size() >= keyLimit))) {
                        continue;
                    }
                    it.remove();
                    batch.add(next);
                    if (k != null) {
                        keys.add(k);
                    }
                }
                if (batch.isEmpty()) {
                    break; // what is left waits for its keys' batches
                }
                busy.addAll(keys);
                inFlight++;
                started.add(batch);
                startedKeys.add(keys);
            }
        }
        // Written outside the lock: a writer may complete at once and its callers submit again.
        for (int i = 0; i < started.size(); i++) {
            List<Pending<T, R>> batch = started.get(i);
            Set<Object> keys = startedKeys.get(i);
            batches.incrementAndGet();
            items.addAndGet(batch.size());
            write(batch).doFinally(signal -> {
                synchronized (lock) {
                    inFlight--;
                    busy.removeAll(keys);
                }
                drain();
            }).subscribe();
        }
    }

    /**
     * With keys and several free slots, the keys one batch may take: the eligible keys shared out over
     * as many free slots as would each get {@link #MIN_SHARED_BATCH} items, so that batches started
     * together run side by side. Without the limit the first batch takes every key (a key's items may
     * only be in one batch in flight) and leaves the other slots nothing. Called holding the lock.
     */
    private int keysPerBatch(int freeSlots) {
        if (key == null || freeSlots <= 1) {
            return Integer.MAX_VALUE;
        }
        Set<Object> eligibleKeys = new HashSet<>();
        int eligibleItems = 0;
        for (Pending<T, R> p : pending) {
            Object k = key.apply(p.item());
            if (!p.cancelled().get() && !busy.contains(k)) {
                eligibleKeys.add(k);
                eligibleItems++;
            }
        }
        int slots = Math.min(freeSlots, eligibleItems / MIN_SHARED_BATCH);
        return slots <= 1 ? Integer.MAX_VALUE : (eligibleKeys.size() + slots - 1) / slots;
    }

    private Mono<Void> write(List<Pending<T, R>> batch) {
        return Mono.defer(() -> writer.apply(batch.stream().map(Pending::item).toList()))
                .doOnNext(outcomes -> complete(batch, outcomes))
                .onErrorResume(error -> {
                    if (batch.size() == 1) {
                        batch.get(0).done().accept(Outcome.failed(error));
                        return Mono.empty();
                    }
                    // Isolate the bad item: retry each alone so the others still commit.
                    return reactor.core.publisher.Flux.fromIterable(batch)
                            .concatMap(p -> write(List.of(p)))
                            .then(Mono.empty());
                })
                .then();
    }

    private static <T, R> void complete(List<Pending<T, R>> batch, List<Outcome<R>> outcomes) {
        if (outcomes.size() != batch.size()) {
            IllegalStateException e = new IllegalStateException(
                    "outcomes must match the batch size " + batch.size() + ", but were " + outcomes.size());
            batch.forEach(p -> p.done().accept(Outcome.failed(e)));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).done().accept(outcomes.get(i));
        }
    }

    private static <R> void complete(MonoSink<R> sink, Outcome<R> o) {
        if (o.error() != null) {
            sink.error(o.error());
        } else if (o.value() != null) {
            sink.success(o.value());
        } else {
            sink.success();
        }
    }
}
