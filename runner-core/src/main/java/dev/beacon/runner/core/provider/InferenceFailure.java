package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.ExecutionError;
import java.time.Duration;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Why one attempt against a provider failed, already mapped to an error code. {@link #retryable()}
 * says whether another attempt may help (connect errors, attempt timeouts, 429, 5xx); a
 * {@code Retry-After} from the provider is kept in {@link #retryAfter()}.
 *
 * <p>Messages name the provider and a short, fixed reason ("answered HTTP 503", "response is not valid
 * JSON"): they are stored and shown to readers of jobs, endpoints and health, so they never carry a
 * secret, what the provider sent, host names or addresses, or a stack trace.
 */
public final class InferenceFailure extends RuntimeException {

    private final String code;
    private final boolean retryable;
    private final @Nullable Duration retryAfter;

    /** @param retryAfter the wait the provider asked for, or {@code null} */
    public InferenceFailure(String code, String message, boolean retryable, @Nullable Duration retryAfter) {
        super(message, null, false, false);
        this.code = code;
        this.retryable = retryable;
        this.retryAfter = retryAfter;
    }

    public static InferenceFailure retryable(String code, String message) {
        return new InferenceFailure(code, message, true, null);
    }

    public static InferenceFailure permanent(String code, String message) {
        return new InferenceFailure(code, message, false, null);
    }

    /** Maps an HTTP status to a failure: 429 and 5xx are retryable, everything else is not. */
    public static InferenceFailure forStatus(int status, String message, @Nullable Duration retryAfter) {
        boolean transientStatus = status == 429 || status >= 500;
        return new InferenceFailure(ExecutionError.http(status), message, transientStatus, retryAfter);
    }

    public String code() {
        return code;
    }

    public boolean retryable() {
        return retryable;
    }

    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    public ExecutionError toError() {
        return new ExecutionError(code, getMessage());
    }
}
