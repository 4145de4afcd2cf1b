package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.plan.ExecutionPlan;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * What the engine needs to run (or resume) a job.
 *
 * @param plan         the job's questions and cells
 * @param stored       results already stored by an earlier run; their cells are not run again
 * @param startedAt    when the job first started (its deadline counts from here), or {@code null} for now
 * @param cancellation signals (any value or completion) when a user cancels the job
 */
public record JobRun(ExecutionPlan plan, List<ExecutionResult> stored, Instant startedAt, Mono<?> cancellation) {

    public JobRun {
        Objects.requireNonNull(plan, "plan");
        stored = List.copyOf(stored);
        cancellation = cancellation == null ? Mono.never() : cancellation;
    }

    public static JobRun fresh(ExecutionPlan plan) {
        return new JobRun(plan, List.of(), null, Mono.never());
    }
}
