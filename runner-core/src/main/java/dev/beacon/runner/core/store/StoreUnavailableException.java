package dev.beacon.runner.core.store;

/**
 * The store did not answer in time: the database is unreachable or stalled (a partition, a frozen
 * primary, an exhausted pool). Whether a write committed is unknown; every write is idempotent, so
 * repeating it later is safe. The HTTP API answers {@code 503} with {@code Retry-After}.
 */
public class StoreUnavailableException extends RuntimeException {

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
