package dev.beacon.runner.core.spec;

import java.time.Duration;
import java.util.Objects;

/**
 * How a job may use the endpoints.
 *
 * @param concurrency      at most this many cells of one question in flight at once
 * @param executionTimeout time allowed for one cell, across all its attempts and providers
 * @param jobTimeout       time allowed for the whole job, from its start
 * @param maxAttempts      attempts per provider of a cell, first one included
 */
public record JobLimits(int concurrency, Duration executionTimeout, Duration jobTimeout, int maxAttempts) {

    public static final JobLimits DEFAULT = new JobLimits(10, Duration.ofMinutes(2), Duration.ofMinutes(30), 3);

    public JobLimits {
        Objects.requireNonNull(executionTimeout, "executionTimeout");
        Objects.requireNonNull(jobTimeout, "jobTimeout");
        if (concurrency < 1 || concurrency > 256) {
            throw new IllegalArgumentException("concurrency must be between 1 and 256, but was " + concurrency);
        }
        if (executionTimeout.isNegative() || executionTimeout.isZero()) {
            throw new IllegalArgumentException("executionTimeout must be positive, but was " + executionTimeout);
        }
        if (jobTimeout.isNegative() || jobTimeout.isZero()) {
            throw new IllegalArgumentException("jobTimeout must be positive, but was " + jobTimeout);
        }
        if (maxAttempts < 1 || maxAttempts > 10) {
            throw new IllegalArgumentException("maxAttempts must be between 1 and 10, but was " + maxAttempts);
        }
    }
}
