package dev.beacon.runner.core.engine;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * What is known of a cell while it runs: attempts so far, when the first started and which
 * provider took the last. Kept so that a cell cut short by cancel or job timeout is stored with
 * its real attempt count.
 */
final class CellProgress {

    private final AtomicInteger attempts = new AtomicInteger();
    private volatile @Nullable Instant startedAt;
    private volatile @Nullable String providerId;

    void attemptStarted(String provider, Instant now) {
        if (attempts.getAndIncrement() == 0) {
            startedAt = now;
        }
        providerId = provider;
    }

    int attempts() {
        return attempts.get();
    }

    /** When the first attempt started; {@code null} before it. */
    @Nullable Instant startedAt() {
        return startedAt;
    }

    /** The provider of the last attempt; {@code null} before the first. */
    @Nullable String providerId() {
        return providerId;
    }
}
