package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;

/** Something only a finished job has (its evidence bundle) was asked of a job that still runs. */
public final class JobNotTerminalException extends RuntimeException {

    private final JobId jobId;
    private final JobStatus status;

    public JobNotTerminalException(JobId jobId, JobStatus status) {
        super("job " + jobId + " is " + status + ", not finished yet");
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
