package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.ExecutionResult;
import java.util.List;
import java.util.Objects;

/**
 * A job this instance now owns, with the cells already stored by an earlier owner (resume).
 *
 * @param job    the job as claimed
 * @param stored results already stored; their cells are not run again
 * @param lease  the claim: every write of this run goes out under it (see {@link JobLease})
 */
public record ClaimedJob(JobRecord job, List<ExecutionResult> stored, JobLease lease) {

    public ClaimedJob {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(lease, "lease");
        stored = List.copyOf(stored);
        if (!lease.jobId().equals(job.id())) {
            throw new IllegalArgumentException("lease must be of job " + job.id() + ", but was of " + lease.jobId());
        }
    }
}
