package dev.beacon.runner.core.domain;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Why an execution did not succeed: a stable {@code code} for machines ({@code HTTP_503},
 * {@code TIMEOUT}, {@code CONNECT}, {@code BAD_RESPONSE}, {@code CIRCUIT_OPEN}, …) and a short reason
 * for people. Messages are shown to anyone who may read a job: they never contain secrets, response
 * bodies, host names or addresses, or stack traces.
 */
public record ExecutionError(String code, String message) {

    public static final String TIMEOUT = "TIMEOUT";
    public static final String CONNECT = "CONNECT";
    public static final String BAD_RESPONSE = "BAD_RESPONSE";
    public static final String BODY_TOO_LARGE = "BODY_TOO_LARGE";
    public static final String CIRCUIT_OPEN = "CIRCUIT_OPEN";
    public static final String CANCELLED = "CANCELLED";
    public static final String JOB_TIMEOUT = "JOB_TIMEOUT";
    public static final String SIMULATED_FAILURE = "SIMULATED_FAILURE";
    public static final String INTERNAL = "INTERNAL";

    /** {@code message} null is the empty message. */
    public ExecutionError(String code, @Nullable String message) {
        this.code = Objects.requireNonNull(code, "code");
        this.message = message == null ? "" : message;
    }

    public static String http(int status) {
        return "HTTP_" + status;
    }
}
