package dev.beacon.runner.core.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

class PeriodicLoopTest {

    private static final Duration PERIOD = Duration.ofSeconds(1);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();

    @Test
    void aRoundSlowerThanSeveralTicksNeitherOverflowsNorStopsTheLoop() {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        // The first round takes four and a half periods; later ones are instant.
        Disposable loop = PeriodicLoop.start("slow", PeriodicLoop.every(PERIOD, time), Duration.ofSeconds(30), time,
                () -> Mono.delay(started.getAndIncrement() == 0 ? PERIOD.multipliedBy(9).dividedBy(2) : Duration.ZERO, time)
                        .doOnNext(x -> finished.incrementAndGet()));
        try {
            time.advanceTimeBy(PERIOD.multipliedBy(11).dividedBy(2).plusMillis(1));
            // One round ran from 1 s to 5.5 s; the four ticks meanwhile were folded into one round.
            assertThat(finished).hasValue(2);

            time.advanceTimeBy(PERIOD.multipliedBy(10));
            assertThat(finished).hasValue(12);
            assertThat(loop.isDisposed()).isFalse();
        } finally {
            loop.dispose();
        }
    }

    @Test
    void aRoundThatHangsIsCutOffByItsTimeoutAndTheNextTickRunsAgain() {
        AtomicInteger rounds = new AtomicInteger();
        List<Boolean> cancelled = new CopyOnWriteArrayList<>();
        Disposable loop = PeriodicLoop.start("hanging", PeriodicLoop.every(PERIOD, time), Duration.ofMillis(1700), time,
                () -> {
                    rounds.incrementAndGet();
                    return Mono.never().doOnCancel(() -> cancelled.add(true));
                });
        try {
            time.advanceTimeBy(Duration.ofMillis(7500));
            // rounds from 1 s (cut off at 2.7 s), 2.7 s (4.4 s), 4.4 s (6.1 s) and 6.1 s, each on the latest tick kept
            assertThat(rounds).hasValue(4);
            assertThat(cancelled).hasSize(3);
        } finally {
            loop.dispose();
        }
    }

    @Test
    void aFailingRoundIsLoggedAndTheLoopGoesOn() {
        AtomicInteger rounds = new AtomicInteger();
        Disposable loop = PeriodicLoop.start("failing", PeriodicLoop.every(PERIOD, time), PERIOD, time,
                () -> rounds.incrementAndGet() % 2 == 1 ? Mono.error(new IllegalStateException("database away")) : Mono.empty());
        try {
            time.advanceTimeBy(PERIOD.multipliedBy(6));
            assertThat(rounds).hasValue(6);
        } finally {
            loop.dispose();
        }
    }

    @Test
    void aTickSourceThatFailsIsSubscribedAgain() {
        AtomicInteger subscriptions = new AtomicInteger();
        AtomicInteger rounds = new AtomicInteger();
        Sinks.Many<Object> first = Sinks.many().multicast().directBestEffort();
        Flux<Object> ticks = Flux.defer(() -> subscriptions.incrementAndGet() == 1 ? first.asFlux()
                : PeriodicLoop.every(PERIOD, time).cast(Object.class));
        Disposable loop = PeriodicLoop.start("restarting", ticks, PERIOD, time, () -> Mono.fromRunnable(rounds::incrementAndGet));
        try {
            first.tryEmitNext("tick");
            first.tryEmitError(new IllegalStateException("signals connection lost"));
            assertThat(rounds).hasValue(1);

            time.advanceTimeBy(PERIOD.multipliedBy(5));

            assertThat(subscriptions).hasValue(2);
            assertThat(rounds.get()).isGreaterThanOrEqualTo(3);
        } finally {
            loop.dispose();
        }
    }

    @Test
    void disposingTheLoopCancelsTheRoundInProgress() {
        List<Boolean> cancelled = new CopyOnWriteArrayList<>();
        Disposable loop = PeriodicLoop.start("disposed", PeriodicLoop.every(PERIOD, time), Duration.ofMinutes(1), time,
                () -> Mono.never().doOnCancel(() -> cancelled.add(true)));
        time.advanceTimeBy(PERIOD);

        loop.dispose();

        assertThat(cancelled).containsExactly(true);
    }
}
