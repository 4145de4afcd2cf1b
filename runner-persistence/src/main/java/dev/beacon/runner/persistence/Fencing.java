package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobStatus;
import org.jspecify.annotations.Nullable;

/** The fencing rule every journal write follows, in one place. */
final class Fencing {

    private Fencing() {
    }

    /**
     * Whether a write by {@code owner} (under fencing token {@code token}, if not null) must be refused
     * for a job in {@code status}, held by {@code heldBy} under {@code heldToken}: the job is live and
     * held by someone else, or claimed again since that token. Unfenced writes ({@code owner} null) and
     * writes to terminal jobs (which store nothing) are never refused.
     */
    static boolean refuses(JobStatus status, @Nullable String heldBy, long heldToken, @Nullable String owner, @Nullable Long token) {
        return owner != null && !status.isTerminal() && (!owner.equals(heldBy) || token != null && token != heldToken);
    }
}
