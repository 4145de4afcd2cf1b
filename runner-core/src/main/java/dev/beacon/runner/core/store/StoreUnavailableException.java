package dev.beacon.runner.core.store;

import org.jspecify.annotations.Nullable;

/**
 * The store did not answer in time: the database is unreachable or stalled (a partition, a frozen
 * primary, an exhausted pool). Whether a write committed is unknown; every write is idempotent, so
 * repeating it later is safe. The HTTP API answers {@code 503} with {@code Retry-After}.
 */
public class StoreUnavailableException extends RuntimeException {

    /** @param cause what the database did, or {@code null} when it did nothing (a timeout) */
    public StoreUnavailableException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
