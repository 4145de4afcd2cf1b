package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.PlannedQuestion;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/** The mutable bookkeeping of one job run: which cells are done, their outcomes, and why it stopped. */
final class RunState {

    private final ExecutionPlan plan;
    private final Map<Cell, ExecutionResult> done = new ConcurrentHashMap<>();
    private final Map<Cell, CellProgress> progress = new ConcurrentHashMap<>();
    private final AtomicReference<JobStatus> stopReason = new AtomicReference<>();
    private volatile @Nullable Instant lastResultAt;

    RunState(ExecutionPlan plan, List<ExecutionResult> stored) {
        this.plan = plan;
        for (ExecutionResult r : stored) {
            done.put(r.cell(), r);
        }
    }

    boolean isDone(Cell cell) {
        return done.containsKey(cell);
    }

    boolean isQuestionDone(PlannedQuestion question) {
        return question.cells().stream().allMatch(this::isDone);
    }

    CellProgress progressOf(Cell cell) {
        return progress.computeIfAbsent(cell, c -> new CellProgress());
    }

    /** Returns {@code progress} without creating it; {@code null} if the cell never started. */
    @Nullable CellProgress existingProgress(Cell cell) {
        return progress.get(cell);
    }

    void finished(ExecutionResult result, Instant at) {
        done.putIfAbsent(result.cell(), result);
        progress.remove(result.cell());
        lastResultAt = at;
    }

    /** When the last result of this run was stored; {@code null} before the first. */
    @Nullable Instant lastResultAt() {
        return lastResultAt;
    }

    boolean stop(JobStatus reason) {
        return stopReason.compareAndSet(null, reason);
    }

    /** Why the run stopped early ({@code CANCELLED} or {@code TIMED_OUT}); {@code null} while it was not stopped. */
    @Nullable JobStatus stopReason() {
        return stopReason.get();
    }

    ExecutionCounts countsOf(List<Cell> cells) {
        ExecutionCounts counts = ExecutionCounts.allPending(cells.size());
        for (Cell c : cells) {
            ExecutionResult r = done.get(c);
            if (r != null) {
                counts = counts.plus(r.status());
            }
        }
        return counts;
    }

    ExecutionCounts counts() {
        return countsOf(plan.questions().stream().flatMap(q -> q.cells().stream()).toList());
    }

    List<Cell> unfinishedCells() {
        return plan.questions().stream().flatMap(q -> q.cells().stream()).filter(c -> !isDone(c)).toList();
    }
}
