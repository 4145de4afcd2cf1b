package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.spec.JobSpec;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** A validated job about to be stored. {@code idempotencyKey} may be {@code null}. */
public record NewJob(JobId id, JobSpec spec, @Nullable String idempotencyKey, Instant createdAt) {

    public NewJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(createdAt, "createdAt");
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 255)) {
            throw new IllegalArgumentException("Idempotency-Key must be 1-255 characters, but was " + idempotencyKey.length());
        }
    }
}
