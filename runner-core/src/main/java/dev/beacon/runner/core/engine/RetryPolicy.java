package dev.beacon.runner.core.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * Backoff between attempts of one provider: {@code initialBackoff × 2^(n-1)}, capped at
 * {@code maxBackoff}, spread by ±{@code jitter} (0.5 = ±50 %). A provider's {@code Retry-After}
 * wins when it asks for longer. No retry is ever scheduled past the execution's deadline.
 */
public record RetryPolicy(Duration initialBackoff, Duration maxBackoff, double jitter) {

    public static final RetryPolicy DEFAULT = new RetryPolicy(Duration.ofMillis(500), Duration.ofSeconds(10), 0.5);

    public RetryPolicy {
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        if (initialBackoff.isNegative()) {
            throw new IllegalArgumentException("initialBackoff must be >= 0, but was " + initialBackoff);
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff must be >= initialBackoff (" + initialBackoff + "), but was " + maxBackoff);
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new IllegalArgumentException("jitter must be between 0 and 1, but was " + jitter);
        }
    }

    /**
     * Delay before retry number {@code retry} (1 = the second attempt).
     *
     * @param random a uniform value in [0, 1) that spreads the delay
     */
    Duration backoff(long retry, double random) {
        long base = initialBackoff.toMillis();
        long exponential = base << Math.min(30, Math.max(0, retry - 1));
        long capped = Math.min(exponential, maxBackoff.toMillis());
        double spread = 1 + jitter * (2 * random - 1);
        return Duration.ofMillis(Math.max(0, Math.round(capped * spread)));
    }
}
