package dev.beacon.runner.core.domain;

import java.util.Objects;
import java.util.UUID;

/** Identifies one job; a random UUID assigned when the job is accepted. */
public record JobId(UUID value) {

    public JobId {
        Objects.requireNonNull(value, "job id must not be null");
    }

    public static JobId random() {
        return new JobId(UUID.randomUUID());
    }

    /**
     * Parses the textual form of a job id.
     *
     * @throws IllegalArgumentException if {@code text} is not a UUID
     */
    public static JobId parse(String text) {
        try {
            return new JobId(UUID.fromString(text));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("job id must be a UUID, but was '" + text + "'");
        }
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
