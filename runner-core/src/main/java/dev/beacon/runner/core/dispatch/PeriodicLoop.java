package dev.beacon.runner.core.dispatch;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * A loop that does one piece of work per tick, for as long as it is subscribed, whatever the work
 * does: the shape of every periodic task of the runner (claiming, lease renewal, the self-fencing
 * watchdog, cancel checks, event feed wake-ups).
 *
 * <ul>
 *   <li><b>A tick that comes while the work still runs</b> is kept, one at most (a newer one replaces
 *       it): the work runs once more right after, so a slow round never piles up ticks and never
 *       overflows ({@code Flux.interval} errors when its ticks are not requested).</li>
 *   <li><b>A round that takes longer than {@code timeout}</b> is cancelled and counts as failed.</li>
 *   <li><b>A failed round</b> is logged at WARN and the loop goes on with the next tick.</li>
 *   <li><b>A tick source that fails</b> is logged and subscribed again after a backoff (one period,
 *       growing to ten): the loop never stops silently.</li>
 * </ul>
 */
public final class PeriodicLoop {

    private static final Logger log = LoggerFactory.getLogger(PeriodicLoop.class);

    private PeriodicLoop() {
    }

    /**
     * Ticks every {@code period} on {@code scheduler}, the first after one period.
     */
    public static Flux<Long> every(Duration period, Scheduler scheduler) {
        return Flux.interval(period, scheduler);
    }

    /**
     * The values of {@code work}, one round per tick of {@code ticks}, with the tick and failure
     * policies above ({@code timeout} bounds the wait for each value of a round and for its end).
     * Never errors because of the work; completes when {@code ticks} completes. On cancel the round
     * in progress is cancelled.
     */
    public static <T> Flux<T> rounds(String name, Flux<?> ticks, Duration timeout, Scheduler scheduler,
                                     Supplier<? extends Publisher<T>> work) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(work, "work");
        return ticks
                .onBackpressureLatest()
                .concatMap(tick -> Flux.defer(work)
                        .timeout(timeout, scheduler)
                        .onErrorResume(e -> {
                            log.warn("{} failed, will try again at the next tick: {}", name, e.toString());
                            return Flux.empty();
                        }), 0) // no prefetch: the next tick is asked for only when the round is over
                .retryWhen(Retry.backoff(Long.MAX_VALUE, timeout).maxBackoff(timeout.multipliedBy(10)).scheduler(scheduler)
                        .doBeforeRetry(s -> log.error("{} stopped by an error of its tick source, restarting it", name, s.failure())));
    }

    /**
     * Starts a loop of {@link #rounds} that runs until disposed; the work's values are ignored.
     */
    public static Disposable start(String name, Flux<?> ticks, Duration timeout, Scheduler scheduler,
                                   Supplier<? extends Mono<?>> work) {
        return rounds(name, ticks, timeout, scheduler, () -> work.get().then()).subscribe(
                value -> {
                },
                e -> log.error("{} ended by an unexpected error", name, e));
    }
}
