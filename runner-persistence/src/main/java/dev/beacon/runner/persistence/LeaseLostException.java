package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.OwnershipLostException;

/**
 * A fenced write was refused because the writer no longer owns the job: its lease expired and another
 * instance claimed the job (or it was released). The writer should stop running the job; the new
 * owner re-runs every cell that has no row.
 */
public final class LeaseLostException extends OwnershipLostException {

    public LeaseLostException(JobId jobId, String owner, String currentOwner) {
        super(jobId, owner, "job " + jobId + " is no longer owned by '" + owner + "' (owner now: " + currentOwner + ")");
    }
}
