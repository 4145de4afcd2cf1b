package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;

/** A cancel was asked for a job that has already finished. */
public final class JobAlreadyTerminalException extends RuntimeException {

    private final JobId jobId;
    private final JobStatus status;

    public JobAlreadyTerminalException(JobId jobId, JobStatus status) {
        super("job " + jobId + " is already " + status);
        this.jobId = jobId;
        this.status = status;
    }

    public JobId jobId() {
        return jobId;
    }

    public JobStatus status() {
        return status;
    }
}
