package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;

/** The same {@code Idempotency-Key} was used before with a different job spec. */
public final class IdempotencyConflictException extends RuntimeException {

    private final JobId existing;

    public IdempotencyConflictException(String key, JobId existing) {
        super("Idempotency-Key '" + key + "' was already used for job " + existing + " with a different body");
        this.existing = existing;
    }

    public JobId existing() {
        return existing;
    }
}
