package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.spec.JobSpec;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A stored job and its progress.
 *
 * @param counts          per-status counts of the stored execution rows; pending = cells − rows
 * @param currentQuestion index of the question being run (the last one started), or {@code null}
 * @param owner           runner instance holding the job's lease, or {@code null}
 * @param cancelRequested a cancel was asked for and the owner has not finished yet
 * @param retryOf         the job this one retries (its other cells were carried over), or {@code null}
 */
public record JobRecord(
        JobId id,
        String name,
        JobStatus status,
        JobSpec spec,
        @Nullable String idempotencyKey,
        Instant createdAt,
        @Nullable Instant startedAt,
        @Nullable Instant finishedAt,
        ExecutionCounts counts,
        @Nullable Integer currentQuestion,
        @Nullable String owner,
        boolean cancelRequested,
        @Nullable JobId retryOf) {

    /** A job that retries no other. */
    public JobRecord(JobId id, String name, JobStatus status, JobSpec spec, @Nullable String idempotencyKey, Instant createdAt,
                     @Nullable Instant startedAt, @Nullable Instant finishedAt, ExecutionCounts counts,
                     @Nullable Integer currentQuestion, @Nullable String owner, boolean cancelRequested) {
        this(id, name, status, spec, idempotencyKey, createdAt, startedAt, finishedAt, counts, currentQuestion, owner,
                cancelRequested, null);
    }

    public JobRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(counts, "counts");
    }

    public int questions() {
        return spec.questions().size();
    }

    public int endpoints() {
        return dev.beacon.runner.core.spec.CellLayout.endpoints(spec).size();
    }

    public int samples() {
        return spec.samples();
    }

    public int cells() {
        return dev.beacon.runner.core.spec.CellLayout.cellCount(spec);
    }
}
