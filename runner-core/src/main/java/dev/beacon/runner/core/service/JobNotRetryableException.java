package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.JobId;
import org.jspecify.annotations.Nullable;

/** A retry was asked of a job that is still running, or that has no cell left to run again. */
public final class JobNotRetryableException extends RuntimeException {

    private final JobId jobId;

    public JobNotRetryableException(JobId jobId, @Nullable String message) {
        super(message);
        this.jobId = jobId;
    }

    public JobId jobId() {
        return jobId;
    }
}
