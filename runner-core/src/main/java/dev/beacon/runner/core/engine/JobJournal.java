package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.List;
import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Where the engine records what happens to a job: the storage port of {@code runner-core}.
 * Implementations: {@link InMemoryJobJournal} for plain Java use, and the R2DBC stores of
 * {@code runner-persistence}.
 */
public interface JobJournal {

    /**
     * Appends one event to the job's log, giving it the next sequence number, together with the
     * state change it implies, in one transaction:
     * <ul>
     *   <li>{@link JobEvent.ExecutionFinished}: stores the cell's row; if the cell already has a
     *       row, nothing is stored and the result completes empty.</li>
     *   <li>{@link JobEvent.JobStarted}: moves the job to {@code RUNNING} (from {@code QUEUED}, or
     *       keeps it {@code RUNNING} on resume).</li>
     *   <li>{@link JobEvent.JobFinished}: moves the job from {@code RUNNING} to the event's status
     *       and replaces the event's counts by those of the stored rows; if the job is already
     *       terminal, nothing is stored and the result completes empty.</li>
     * </ul>
     *
     * <p>Emits the stored event once it is committed. On error nothing was committed (or the
     * outcome is unknown after a lost connection; a retry is then safe, since every write is
     * idempotent per cell and per transition). On cancel the write may or may not commit.
     */
    Mono<StoredEvent> append(JobId jobId, JobEvent event);

    /**
     * Appends {@code events} in order, each as {@link #append} does, and emits what each stored: one
     * {@code Optional} per event, in order, empty where {@code append} would complete empty. A store
     * that groups commits writes them in as few groups as it can (the engine hands it each question's
     * boundary, {@code question.finished} of the one before and {@code question.started}, and the
     * results that came while that was being stored); this default appends them one after the other.
     *
     * <p>On error some of the events may have been stored; a retry is safe, as for {@link #append}. On
     * cancel the appends not yet made are not made, and those under way may or may not commit.
     */
    default Mono<List<Optional<StoredEvent>>> appendAll(JobId jobId, List<JobEvent> events) {
        return Flux.fromIterable(events)
                .concatMap(event -> append(jobId, event).map(Optional::of).defaultIfEmpty(Optional.empty()))
                .collectList();
    }

    /**
     * Emits every stored execution of the job, in no particular order. On error emits the storage
     * error; on cancel stops reading.
     */
    Flux<ExecutionResult> executions(JobId jobId);
}
