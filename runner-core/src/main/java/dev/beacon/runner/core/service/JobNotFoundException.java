package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.JobId;

/** No job with this id is stored. */
public final class JobNotFoundException extends RuntimeException {

    private final JobId jobId;

    public JobNotFoundException(JobId jobId) {
        super("no job with id " + jobId);
        this.jobId = jobId;
    }

    public JobId jobId() {
        return jobId;
    }
}
