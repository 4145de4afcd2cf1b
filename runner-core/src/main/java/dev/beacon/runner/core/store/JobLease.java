package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import java.util.Objects;
import java.util.Optional;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * The claim under which one run of a job writes: the owning instance's name and a fencing token that
 * the store raises at every claim of the job. A journal that sees a lease in the Reactor
 * {@link Context} of an append refuses it unless both still match the job's row, so a run that outlived
 * its lease can write nothing — not even when the same instance has claimed the job again since.
 *
 * @param jobId the job
 * @param owner the instance that claimed it
 * @param token the fencing token of this claim; a later claim of the job gets a greater one
 */
public record JobLease(JobId jobId, String owner, long token) {

    private static final String KEY = JobLease.class.getName();

    public JobLease {
        Objects.requireNonNull(jobId, "jobId");
        if (owner == null || owner.isBlank()) {
            throw new IllegalArgumentException("owner must not be blank, but was '" + owner + "'");
        }
        if (token < 1) {
            throw new IllegalArgumentException("token must be >= 1, but was " + token);
        }
    }

    /** {@code context} with this lease, for everything the run of {@link #jobId()} writes. */
    public Context writeTo(Context context) {
        return context.put(KEY, this);
    }

    /** The lease of the run that writes {@code jobId}, if the context carries one for that job. */
    public static Optional<JobLease> of(ContextView context, JobId jobId) {
        return context.<JobLease>getOrEmpty(KEY).filter(lease -> lease.jobId().equals(jobId));
    }
}
