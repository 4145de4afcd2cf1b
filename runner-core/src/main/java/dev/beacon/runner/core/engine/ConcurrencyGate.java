package dev.beacon.runner.core.engine;

import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Limits how many calls run at once against one provider, across every job of this instance.
 * Calls beyond the limit wait in arrival order instead of failing.
 *
 * <p>The permit is tied to the inner subscription's life: it is released when the call completes,
 * errors or is cancelled, so a cancelled caller can never leak a permit.
 */
final class ConcurrencyGate {

    private final int limit;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Queue<Waiter<?>> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final AtomicInteger drainWip = new AtomicInteger();

    ConcurrencyGate(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be >= 1, but was " + limit);
        }
        this.limit = limit;
    }

    int limit() {
        return limit;
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
                next.start(this::release);
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
        private volatile Disposable running;

        Waiter(Mono<T> call, MonoSink<T> sink) {
            this.call = call;
            this.sink = sink;
        }

        boolean isCancelled() {
            return cancelled;
        }

        void start(Runnable release) {
            running = call
                    .contextWrite(ctx -> ctx.putAll(sink.contextView()))
                    .doFinally(signal -> release.run())
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
