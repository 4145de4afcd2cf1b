package dev.beacon.runner.core.domain;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The terminal result of one cell: exactly one per (job, question, endpoint) is ever stored.
 *
 * @param providerId the provider that produced the final attempt; {@code null} if none was tried
 * @param attempts   every attempt made, across retries and fallback providers
 * @param startedAt  when the first attempt was requested; {@code null} for a cell never started
 * @param carriedFrom the job this result was copied from by a retry (output and receipt as that job
 *                    stored them; the receipt signs that job's id), or {@code null} when asked here
 */
public record ExecutionResult(
        Cell cell,
        @Nullable String providerId,
        ExecutionStatus status,
        int attempts,
        @Nullable Instant startedAt,
        Instant completedAt,
        @Nullable Long latencyMs,
        @Nullable InferenceOutput output,
        @Nullable ExecutionError error,
        @Nullable Receipt receipt,
        @Nullable JobId carriedFrom) {

    /** A result asked in its own job (not carried over by a retry). */
    public ExecutionResult(Cell cell, @Nullable String providerId, ExecutionStatus status, int attempts, @Nullable Instant startedAt,
                           Instant completedAt, @Nullable Long latencyMs, @Nullable InferenceOutput output,
                           @Nullable ExecutionError error, @Nullable Receipt receipt) {
        this(cell, providerId, status, attempts, startedAt, completedAt, latencyMs, output, error, receipt, null);
    }

    /** The job whose id this result's receipt signs: {@code carriedFrom} for a carried row, else {@code jobId}. */
    public JobId signedFor(JobId jobId) {
        return carriedFrom != null ? carriedFrom : jobId;
    }

    /** This result copied into a retry of its job {@code source}: same output and receipt, never asked again. */
    public ExecutionResult carriedFrom(JobId source) {
        return new ExecutionResult(cell, providerId, status, attempts, startedAt, completedAt, latencyMs, output, error, receipt,
                carriedFrom != null ? carriedFrom : source);
    }

    public ExecutionResult {
        Objects.requireNonNull(cell, "cell");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(completedAt, "completedAt");
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must be >= 0, but was " + attempts);
        }
        if (status == ExecutionStatus.SUCCEEDED && output == null) {
            throw new IllegalArgumentException("a SUCCEEDED result must have an output");
        }
        if (status != ExecutionStatus.SUCCEEDED && error == null) {
            throw new IllegalArgumentException("a " + status + " result must have an error");
        }
    }

    /** A terminal result for a cell that never ran (cancelled or timed out before it started). */
    public static ExecutionResult notRun(Cell cell, ExecutionStatus status, ExecutionError error, Instant at) {
        return new ExecutionResult(cell, null, status, 0, null, at, null, null, error, null);
    }
}
