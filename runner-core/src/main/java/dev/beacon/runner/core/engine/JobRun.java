package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.plan.ExecutionPlan;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * What the engine needs to run (or resume) a job.
 *
 * @param plan         the job's questions and cells
 * @param stored       results already stored by an earlier run; their cells are not run again
 * @param startedAt    when the job first started (its deadline counts from here), or {@code null} for now
 * @param cancellation signals (any value or completion) when a user cancels the job
 * @param finishedQuestions indexes of the questions whose {@code question.finished} is already stored;
 *                          a question whose cells are all stored but which is not in here gets its
 *                          {@code question.finished} from this run
 */
public record JobRun(ExecutionPlan plan, List<ExecutionResult> stored, @Nullable Instant startedAt, Mono<?> cancellation,
                     Set<Integer> finishedQuestions) {

    public JobRun {
        Objects.requireNonNull(plan, "plan");
        stored = List.copyOf(stored);
        cancellation = cancellation == null ? Mono.never() : cancellation;
        finishedQuestions = finishedQuestions == null ? Set.of() : Set.copyOf(finishedQuestions);
    }

    /** A run for which no {@code question.finished} is stored yet. */
    public JobRun(ExecutionPlan plan, List<ExecutionResult> stored, @Nullable Instant startedAt, Mono<?> cancellation) {
        this(plan, stored, startedAt, cancellation, Set.of());
    }

    public static JobRun fresh(ExecutionPlan plan) {
        return new JobRun(plan, List.of(), null, Mono.never());
    }
}
