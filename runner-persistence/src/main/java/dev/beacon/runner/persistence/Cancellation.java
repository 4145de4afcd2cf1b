package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.JobSignals.Signal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A cancel request: a job that runs (or is claimed) is flagged for its owner to stop; a queued job
 * nobody holds is cancelled here and now, each of its cells given a CANCELLED row.
 */
final class Cancellation {

    /** Rows per statement when a queued job's cells are cancelled. */
    private static final int CHUNK = 200;
    /** The cancel of a queued job stores a row per cell (the largest jobs have tens of thousands): it may take this many timeouts. */
    private static final int TIMEOUT_PERIODS = 6;

    private final StoreDatabase db;
    private final JobJson json;
    private final JobReads reads;
    private final JournalStatements statements;

    Cancellation(StoreDatabase db, JobJson json, JobReads reads, JournalStatements statements) {
        this.db = db;
        this.json = json;
        this.reads = reads;
        this.statements = statements;
    }

    /**
     * One transaction under the job's row lock; publishes {@code CancelRequested} (flagged) or
     * {@code EventsAppended} (cancelled here) after the commit. Retried on transient faults.
     */
    Mono<CancelOutcome> requestCancel(JobId id) {
        Mono<Cancel> work = db.sql("SELECT " + LockedJob.COLUMNS + ", spec FROM {jobs} WHERE id = :id FOR UPDATE")
                .bind("id", id.value())
                .map((row, meta) -> Map.entry(JobRows.locked(row), row.get("spec", String.class)))
                .one()
                .flatMap(found -> {
                    LockedJob job = found.getKey();
                    if (job.status().isTerminal()) {
                        return Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, List.of()));
                    }
                    // A queued job that an instance has claimed (owner set, not started yet) is that
                    // instance's to cancel: cancelling it here would race its start.
                    if (job.status() == JobStatus.RUNNING || job.owner() != null) {
                        return db.sql("UPDATE {jobs} SET cancel_requested = TRUE WHERE id = :id AND status = :status")
                                .bind("id", id.value()).bind("status", job.status().name()).fetch().rowsUpdated()
                                .thenReturn(new Cancel(CancelOutcome.REQUESTED, List.of()));
                    }
                    return cancelQueued(job, json.readSpec(found.getValue()));
                })
                .defaultIfEmpty(new Cancel(CancelOutcome.NOT_FOUND, List.of()));
        return db.run(db.transactional(work), db.timeout().multipliedBy(TIMEOUT_PERIODS))
                .retryWhen(db.retry())
                .flatMap(result -> switch (result.outcome()) {
                    case REQUESTED -> db.publish(new Signal.CancelRequested(id)).thenReturn(result.outcome());
                    // The events it stored travel with the signal: this instance's feeds pass them on without a read.
                    case CANCELLED -> db.publish(new Signal.EventsAppended(id, result.events().get(result.events().size() - 1).seq(), result.events()))
                            .thenReturn(result.outcome());
                    default -> Mono.just(result.outcome());
                });
    }

    /**
     * QUEUED → CANCELLED: a CANCELLED row and its {@code execution.finished} for every cell without a
     * row, then {@code job.finished} with the row counts; all in the caller's transaction.
     */
    private Mono<Cancel> cancelQueued(LockedJob job, JobSpec spec) {
        if (!job.status().canTransitionTo(JobStatus.CANCELLED)) {
            return Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, List.of()));
        }
        Instant now = db.now();
        var error = new ExecutionError(ExecutionError.CANCELLED, "job cancelled before it started");
        List<ExecutionResult> rows = CellLayout.cells(spec).stream()
                .map(cell -> statements.signed(job.id(), ExecutionResult.notRun(cell, ExecutionStatus.CANCELLED, error, now)))
                .toList();
        // Every cell that becomes terminal has its execution.finished, as in a run; a retry's carried
        // cells have their rows (and events) already, so only the rows inserted here get one.
        long[] seq = {job.eventSeq()};
        List<StoredEvent> stored = new ArrayList<>();
        return Flux.fromIterable(SqlValues.chunks(rows, CHUNK))
                .concatMap(chunk -> statements.insertExecutions(chunk, chunk.stream().map(r -> job.id()).toList())
                        .flatMap(inserted -> {
                            List<StoredEvent> events = new ArrayList<>();
                            for (int i = 0; i < chunk.size(); i++) {
                                if (inserted.get(i)) {
                                    events.add(new StoredEvent(job.id(), ++seq[0], now, new JobEvent.ExecutionFinished(chunk.get(i))));
                                }
                            }
                            stored.addAll(events);
                            return statements.insertEvents(events);
                        }))
                .then(Mono.zip(reads.selectCounts(job.id(), job.cells()), statements.sealOf(job, JobStatus.CANCELLED, now)))
                .flatMap(countsAndSeal -> {
                    Seal seal = countsAndSeal.getT2().orElse(null);
                    long last = ++seq[0];
                    var finished = new StoredEvent(job.id(), last, now, new JobEvent.JobFinished(JobStatus.CANCELLED, countsAndSeal.getT1(), seal));
                    stored.add(finished);
                    return statements.finish(job, JobStatus.CANCELLED, last, now, seal).flatMap(n -> n == 0
                            ? Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, List.of()))
                            : statements.insertEvents(List.of(finished)).thenReturn(new Cancel(CancelOutcome.CANCELLED, List.copyOf(stored))));
                });
    }

    /** What a cancel did, and every event it stored, in seq order (its {@code job.finished} last). */
    private record Cancel(CancelOutcome outcome, List<StoredEvent> events) {
    }
}
