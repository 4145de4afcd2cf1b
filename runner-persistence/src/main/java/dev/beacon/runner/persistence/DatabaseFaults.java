package dev.beacon.runner.persistence;

import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTransientException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Locale;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import reactor.util.retry.Retry;
import reactor.util.retry.RetryBackoffSpec;

/**
 * Classifies database errors: which are worth retrying and which mean "that key already exists".
 * Spring's {@code DatabaseClient} wraps driver exceptions, so the whole cause chain is inspected.
 */
final class DatabaseFaults {

    private DatabaseFaults() {
    }

    /**
     * A bounded retry with exponential backoff for transient faults only: lock timeouts, deadlocks,
     * serialization failures, lost or refused connections. Re-running a store write is safe because
     * every write is idempotent per cell and per transition. When exhausted, the last error is emitted.
     */
    static RetryBackoffSpec transientRetry(int attempts, Duration firstBackoff) {
        return Retry.backoff(attempts, firstBackoff)
                .maxBackoff(Duration.ofSeconds(2))
                .filter(DatabaseFaults::isTransient)
                .onRetryExhaustedThrow((spec, signal) -> signal.failure());
    }

    static boolean isTransient(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcTransientException
                    || t instanceof TransientDataAccessException
                    || t instanceof DataAccessResourceFailureException
                    || t instanceof ClosedChannelException
                    || t instanceof java.net.ConnectException) {
                return true;
            }
            if (t instanceof R2dbcNonTransientResourceException || t instanceof IOException) {
                String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
                if (message.contains("closed") || message.contains("refused") || message.contains("reset")) {
                    return true;
                }
            }
        }
        return false;
    }

    static boolean isDuplicateKey(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof DataIntegrityViolationException || t instanceof R2dbcDataIntegrityViolationException) {
                return true;
            }
        }
        return false;
    }
}
