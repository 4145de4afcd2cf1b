package dev.beacon.runner.core.engine;

import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Limits how many calls run at once against one provider, across every job of this instance.
 * Calls beyond the limit wait in arrival order instead of failing.
 *
 * <p>The permit is tied to the inner subscription's life: it is released when the call completes,
 * errors or is cancelled, so a cancelled caller can never leak a permit.
 *
 * <p>An adaptive gate treats its limit as a ceiling and moves below it (additive increase,
 * multiplicative decrease): a call that fails with what {@code throttled} recognises (the
 * provider's 429 or 503) halves the limit, down to 1 — once per generation, so the burst of refusals
 * of calls started under the old limit halves it only once — and every run of
 * {@value #RUN_PER_PERMIT} × {@code limit} successes in a row raises it by 1, up to the ceiling.
 */
final class ConcurrencyGate {

    /**
     * Successes in a row, per permit of the current limit, before the limit grows by one: probing
     * more slowly than it backs off, so that a provider at its capacity refuses few calls.
     */
    static final int RUN_PER_PERMIT = 8;

    private final int ceiling;
    private volatile int limit;
    /** Raised at every decrease: a refusal of a call started in an older generation does not halve again. */
    private final AtomicInteger generation = new AtomicInteger();
    private final AtomicInteger successes = new AtomicInteger();
    private final @Nullable Predicate<Throwable> throttled;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Queue<Waiter<?>> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final AtomicInteger drainWip = new AtomicInteger();

    /** A fixed limit. */
    ConcurrencyGate(int limit) {
        this(limit, null);
    }

    /** A limit that adapts below {@code ceiling} when {@code throttled} is not {@code null}. */
    ConcurrencyGate(int ceiling, @Nullable Predicate<Throwable> throttled) {
        if (ceiling < 1) {
            throw new IllegalArgumentException("limit must be >= 1, but was " + ceiling);
        }
        this.ceiling = ceiling;
        this.limit = ceiling;
        this.throttled = throttled;
    }

    /** The calls allowed at once now: the ceiling, or below it while an adaptive gate is backing off. */
    int limit() {
        return limit;
    }

    int ceiling() {
        return ceiling;
    }

    private void succeeded() {
        if (throttled == null || !raise()) {
            return;
        }
        drain(); // one more permit: a waiting call may start
    }

    /** Counts a success; true when it completed a run of {@value #RUN_PER_PERMIT} × {@code limit} of them and the limit grew by 1. */
    private synchronized boolean raise() {
        int current = limit;
        if (current >= ceiling || successes.incrementAndGet() < RUN_PER_PERMIT * current) {
            return false;
        }
        successes.set(0);
        limit = current + 1;
        return true;
    }

    private synchronized void failed(Throwable error, int startedIn) {
        if (throttled == null || !throttled.test(error)) {
            return;
        }
        if (generation.compareAndSet(startedIn, startedIn + 1)) {
            successes.set(0);
            limit = Math.max(1, limit / 2);
        }
    }

    int inFlight() {
        return inFlight.get();
    }

    int waiting() {
        return waitingCount.get();
    }

    /**
     * Runs {@code call} once a permit is free, with the caller's Reactor context.
     *
     * <p>Emits what the call emits. On error emits the call's error. On cancel while waiting, leaves
     * the queue without ever starting the call; on cancel while running, cancels the call and frees
     * its permit.
     */
    <T> Mono<T> run(Mono<T> call) {
        Objects.requireNonNull(call, "call");
        return Mono.create(sink -> {
            Waiter<T> waiter = new Waiter<>(call, sink);
            sink.onCancel(waiter::cancel);
            waiting.add(waiter);
            waitingCount.incrementAndGet();
            drain();
        });
    }

    // Queue drain loop: only drain() takes permits, so "check then increment" is safe while the
    // work-in-progress counter serialises it; releases may happen on any thread at any time.
    private void drain() {
        if (drainWip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            while (inFlight.get() < limit) {
                Waiter<?> next = waiting.poll();
                if (next == null) {
                    break;
                }
                waitingCount.decrementAndGet();
                if (next.isCancelled()) {
                    continue;
                }
                inFlight.incrementAndGet();
                next.start(this, generation.get());
            }
            missed = drainWip.addAndGet(-missed);
        } while (missed != 0);
    }

    private void release() {
        inFlight.decrementAndGet();
        drain();
    }

    private static final class Waiter<T> {
        private final Mono<T> call;
        private final MonoSink<T> sink;
        private volatile boolean cancelled;
        private volatile @Nullable Disposable running;

        Waiter(Mono<T> call, MonoSink<T> sink) {
            this.call = call;
            this.sink = sink;
        }

        boolean isCancelled() {
            return cancelled;
        }

        void start(ConcurrencyGate gate, int generation) {
            running = call
                    .contextWrite(ctx -> ctx.putAll(sink.contextView()))
                    .doOnSuccess(value -> gate.succeeded())
                    .doOnError(error -> gate.failed(error, generation))
                    .doFinally(signal -> gate.release())
                    .subscribe(sink::success, sink::error, () -> sink.success());
            if (cancelled) {
                // Cancelled between the check and the subscription: stop the call we just started.
                running.dispose();
            }
        }

        void cancel() {
            cancelled = true;
            Disposable r = running;
            if (r != null) {
                r.dispose();
            }
        }
    }
}
