package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.ExecutionResult;
import java.util.List;

/** A job this instance now owns, with the cells already stored by an earlier owner (resume). */
public record ClaimedJob(JobRecord job, List<ExecutionResult> stored) {

    public ClaimedJob {
        stored = List.copyOf(stored);
    }
}
