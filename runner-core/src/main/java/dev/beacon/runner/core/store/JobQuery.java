package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import org.jspecify.annotations.Nullable;

/**
 * A page of the job list, newest first.
 *
 * @param status only jobs in this status, or {@code null} for all
 * @param before only jobs created before this one (keyset paging), or {@code null}
 */
public record JobQuery(@Nullable JobStatus status, int limit, @Nullable JobId before) {

    public JobQuery {
        if (limit < 1 || limit > 500) {
            throw new IllegalArgumentException("limit must be between 1 and 500, but was " + limit);
        }
    }
}
