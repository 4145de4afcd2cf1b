package dev.beacon.runner.persistence;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Group commit: writes submitted while earlier writes are in flight are coalesced into one batch (one
 * transaction, one commit) of at most {@code maxBatch} items, with at most {@code maxInFlight} batches
 * running at once. A lone write starts at once: nothing waits for a timer, an item only waits for a
 * batch slot, so under light load each write is its own transaction and under heavy load batches grow.
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

    private record Pending<T, R>(T item, MonoSink<R> sink, AtomicBoolean cancelled) {
    }

    private final int maxBatch;
    private final int maxInFlight;
    private final Function<List<T>, Mono<List<Outcome<R>>>> writer;
    private final Queue<Pending<T, R>> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong items = new AtomicLong();

    /**
     * @param writer writes a batch in one transaction and emits one outcome per item, in item order,
     *               after the commit; an error means nothing of the batch was committed (or it is unknown)
     */
    GroupCommit(int maxBatch, int maxInFlight, Function<List<T>, Mono<List<Outcome<R>>>> writer) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, but was " + maxBatch);
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1, but was " + maxInFlight);
        }
        this.maxBatch = maxBatch;
        this.maxInFlight = maxInFlight;
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
            queue.add(new Pending<>(item, sink, cancelled));
            drain();
        });
    }

    /** Batches written so far, and items in them: their ratio is the average batch size. */
    long batches() {
        return batches.get();
    }

    long items() {
        return items.get();
    }

    private void drain() {
        while (!queue.isEmpty()) {
            int running = inFlight.get();
            if (running >= maxInFlight) {
                return; // a running batch drains again when it finishes
            }
            if (!inFlight.compareAndSet(running, running + 1)) {
                continue;
            }
            List<Pending<T, R>> batch = new ArrayList<>();
            Pending<T, R> next;
            while (batch.size() < maxBatch && (next = queue.poll()) != null) {
                if (!next.cancelled().get()) {
                    batch.add(next);
                }
            }
            if (batch.isEmpty()) {
                inFlight.decrementAndGet();
                continue;
            }
            batches.incrementAndGet();
            items.addAndGet(batch.size());
            write(batch).doFinally(signal -> {
                inFlight.decrementAndGet();
                drain();
            }).subscribe();
        }
    }

    private Mono<Void> write(List<Pending<T, R>> batch) {
        return Mono.defer(() -> writer.apply(batch.stream().map(Pending::item).toList()))
                .doOnNext(outcomes -> complete(batch, outcomes))
                .onErrorResume(error -> {
                    if (batch.size() == 1) {
                        batch.get(0).sink().error(error);
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
            batch.forEach(p -> p.sink().error(e));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            Outcome<R> o = outcomes.get(i);
            MonoSink<R> sink = batch.get(i).sink();
            if (o.error() != null) {
                sink.error(o.error());
            } else if (o.value() != null) {
                sink.success(o.value());
            } else {
                sink.success();
            }
        }
    }
}
