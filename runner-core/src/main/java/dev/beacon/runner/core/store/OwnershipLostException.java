package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Signals that a write for a job was refused because the writer no longer owns the job: another
 * instance has claimed it (the writer's lease expired) or it was released. Not a fault: the writer
 * stops running the job and leaves it to its new owner, which runs every cell that has no row.
 */
public final class OwnershipLostException extends IllegalStateException {

    private final JobId jobId;
    private final String owner;

    /** A write by {@code owner} refused because {@code currentOwner} (or no one, when {@code null}) holds the job now. */
    public OwnershipLostException(JobId jobId, String owner, @Nullable String currentOwner) {
        super("job " + jobId + " is no longer owned by '" + owner + "' (owner now: " + currentOwner + ")");
        this.jobId = Objects.requireNonNull(jobId, "jobId");
        this.owner = owner;
    }

    /** The job whose write was refused. */
    public JobId jobId() {
        return jobId;
    }

    /** The instance that tried to write as the job's owner. */
    public String owner() {
        return owner;
    }
}
