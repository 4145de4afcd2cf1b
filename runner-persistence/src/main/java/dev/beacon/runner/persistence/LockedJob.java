package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import org.jspecify.annotations.Nullable;

/**
 * The columns of a {@code jobs} row that a write needs, read under the row's lock
 * ({@code SELECT … FOR UPDATE}); see {@link JournalStatements#lock}.
 */
record LockedJob(JobId id, JobStatus status, long eventSeq, int cells, @Nullable String owner, long leaseToken) {

    /** The columns {@link JobRows#locked} reads. */
    static final String COLUMNS = "id, status, event_seq, cells, owner, lease_token";

    /** Whether a write by {@code owner} under {@code token} must be refused ({@link Fencing#refuses}). */
    boolean refuses(@Nullable String writer, @Nullable Long token) {
        return Fencing.refuses(status, owner, leaseToken, writer, token);
    }
}
