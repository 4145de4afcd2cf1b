package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.OwnershipLostException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * The journal's appends, fenced or not: {@code execution.finished} through the group commit, the
 * bookkeeping events one by one. On PostgreSQL a batch of finished cells and a bookkeeping event are
 * one statement each ({@link FinishedCellsStatement}, {@link BookkeepingStatement}); on H2, and for
 * {@code job.finished} everywhere, a transaction of several ({@link LockingAppends}). Every append runs
 * within the store's timeout, is retried on transient faults and, once committed, publishes
 * {@link Signal.EventsAppended} with the stored events, without waiting for it.
 */
final class JournalWriter {

    private final StoreDatabase db;
    private final JobJson json;
    private final JournalStatements statements;
    private final LockingAppends locking;
    private final GroupCommit<FinishedCellsStatement.Item, StoredEvent> finished;
    /** PostgreSQL: a batch of finished cells as one statement; {@code null} on H2 (a transaction of several). */
    private final @Nullable FinishedCellsStatement finishedStatement;
    /** PostgreSQL: a bookkeeping append as one statement; {@code null} on H2 (a transaction of several). */
    private final @Nullable BookkeepingStatement bookkeeping;

    JournalWriter(StoreDatabase db, SqlDialect dialect, JobJson json, JournalStatements statements, LockingAppends locking,
            int maxBatch, int maxBatchesInFlight) {
        this.db = db;
        this.json = json;
        this.statements = statements;
        this.locking = locking;
        this.finishedStatement = dialect.supportsReturning() ? new FinishedCellsStatement(db::sql, json) : null;
        this.bookkeeping = dialect.supportsReturning() ? new BookkeepingStatement(db::sql, json) : null;
        this.finished = new GroupCommit<>(maxBatch, maxBatchesInFlight, item -> item.jobId(), this::writeFinished);
    }

    /**
     * Appends {@code event} to {@code jobId}, fenced by {@code owner} (null: unfenced) and {@code token}
     * (null: by owner only). Emits the stored event — for a bookkeeping event under a token, the one a
     * lost-answer earlier attempt stored; completes empty when nothing may be stored (terminal job, a
     * cell that has its row, a transition the job cannot make). Errors with {@link OwnershipLostException}
     * when fenced, {@link IllegalArgumentException} when the job does not exist, or the store's error.
     * Cancelling leaves it unknown whether the append committed; a retry of it is safe.
     */
    Mono<StoredEvent> append(JobId jobId, JobEvent event, @Nullable String owner, @Nullable Long token) {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(event, "event");
        if (event instanceof JobEvent.ExecutionFinished f) {
            return finished.submit(new FinishedCellsStatement.Item(jobId, statements.signed(jobId, SqlValues.micros(f.result())), owner, token));
        }
        String dedupeKey = token == null ? null : dedupeKey(event, token);
        if (bookkeeping != null && BookkeepingStatement.handles(event)) {
            BookkeepingStatement statement = bookkeeping;
            return bookkeepingWrite(dedupeKey != null, now -> statement.write(jobId, event, owner, token, dedupeKey, now)
                            .flatMap(result -> bookkept(jobId, event, owner, token, now, result)))
                    .doOnNext(this::publishAppended);
        }
        return db.run(locking.append(jobId, event, owner, token, dedupeKey))
                .retryWhen(db.retry())
                .doOnNext(this::publishAppended);
    }

    /**
     * Appends {@code events} in order, as {@link #append} does each; {@code execution.finished} events
     * alone are queued for the group commit together, so that they share a batch. Emits one
     * {@code Optional} per event, in order (empty: nothing stored); errors with the first event's error
     * once the others are done, any of which may have committed. Cancelling leaves it unknown which
     * of them committed; a retry is safe.
     */
    Mono<List<Optional<StoredEvent>>> appendAll(JobId jobId, List<JobEvent> events, @Nullable String owner, @Nullable Long token) {
        Objects.requireNonNull(jobId, "jobId");
        if (bookkeeping != null && BookkeepingStatement.handlesAll(events)) {
            List<@Nullable String> keys = events.stream().map(e -> token == null ? null : dedupeKey(e, token)).toList();
            BookkeepingStatement statement = bookkeeping;
            return bookkeepingWrite(token != null, now -> statement.writeAll(jobId, events, owner, token, keys, now)
                            .flatMap(results -> bookkeptAll(jobId, events, owner, token, now, results)))
                    .doOnNext(stored -> publishAppended(jobId, stored.stream().flatMap(Optional::stream).toList()));
        }
        if (!events.stream().allMatch(e -> e instanceof JobEvent.ExecutionFinished)) {
            return Flux.fromIterable(events)
                    .concatMap(e -> append(jobId, e, owner, token).map(Optional::of).defaultIfEmpty(Optional.empty()))
                    .collectList();
        }
        return Mono.defer(() -> finished.submitAll(events.stream()
                        .map(e -> new FinishedCellsStatement.Item(jobId, statements.signed(jobId, SqlValues.micros(((JobEvent.ExecutionFinished) e).result())),
                                owner, token))
                        .toList()))
                .map(outcomes -> outcomes.stream().map(o -> Optional.ofNullable(o.value())).toList());
    }

    /**
     * A bookkeeping statement's {@code write} at the store's time, within its timeout and retried on
     * transient faults. The statement's snapshot predates its lock: a retried append whose first attempt
     * committed while this one waited for the row does not see those events and collides with their
     * dedupe keys ({@code keyed}; nothing of the statement is kept). Once more, it sees them.
     */
    private <T> Mono<T> bookkeepingWrite(boolean keyed, Function<Instant, Mono<T>> write) {
        return db.run(Mono.defer(() -> write.apply(db.now())))
                .retryWhen(Retry.max(1).filter(e -> keyed && DatabaseFaults.isDuplicateKey(e)))
                .retryWhen(db.retry());
    }

    /** What a {@link BookkeepingStatement} did, as the append reports it; the same outcomes as {@link LockingAppends#append}. */
    private Mono<StoredEvent> bookkept(JobId jobId, JobEvent event, @Nullable String owner, @Nullable Long token, Instant now,
                                       BookkeepingStatement.Result r) {
        if (!r.found()) {
            return Mono.error(new IllegalArgumentException("job must exist, but " + jobId + " does not"));
        }
        // A found job has a status; only a fenced write (one with an owner) is ever refused.
        if (owner != null && Fencing.refuses(Objects.requireNonNull(r.status(), "status"), r.owner(), r.leaseToken(), owner, token)) {
            return Mono.error(new OwnershipLostException(jobId, owner, r.owner()));
        }
        Long earlierSeq = r.earlierSeq();
        if (earlierSeq != null) {
            // The earlier event's row: its created_at and data are there with its seq.
            return Mono.just(json.readEvent(jobId, earlierSeq, Objects.requireNonNull(r.earlierAt(), "earlier_at").toInstant(),
                    Objects.requireNonNull(r.earlierData(), "earlier_data")));
        }
        return r.seq() == null ? Mono.empty() : Mono.just(new StoredEvent(jobId, r.seq(), now, event));
    }

    /** What a {@link BookkeepingStatement#writeAll} did, per event in order, as {@link #bookkept} reports one. */
    private Mono<List<Optional<StoredEvent>>> bookkeptAll(JobId jobId, List<JobEvent> events, @Nullable String owner, @Nullable Long token,
                                                          Instant now, List<BookkeepingStatement.Result> results) {
        if (results.isEmpty()) {
            return Mono.error(new IllegalArgumentException("job must exist, but " + jobId + " does not"));
        }
        if (results.size() != events.size()) {
            return Mono.error(new IllegalStateException("the statement must answer each of its " + events.size() + " events, but answered "
                    + results.size()));
        }
        return Flux.range(0, events.size())
                .concatMap(i -> bookkept(jobId, events.get(i), owner, token, now, results.get(i)).map(Optional::of).defaultIfEmpty(Optional.empty()))
                .collectList();
    }

    /**
     * The key that makes a bookkeeping append of one run idempotent, or {@code null} for events that
     * are idempotent by themselves ({@code execution.finished} per cell, {@code job.finished} by its
     * transition).
     */
    private static @Nullable String dedupeKey(JobEvent event, long token) {
        if (event instanceof JobEvent.JobStarted) {
            return "job.started@" + token;
        }
        if (event instanceof JobEvent.QuestionStarted q) {
            return "question.started:" + q.index() + "@" + token;
        }
        if (event instanceof JobEvent.QuestionFinished q) {
            return "question.finished:" + q.index() + "@" + token;
        }
        return null;
    }

    /** One batch of {@code execution.finished} appends, committed together; outcomes in item order. */
    private Mono<List<GroupCommit.Outcome<StoredEvent>>> writeFinished(List<FinishedCellsStatement.Item> items) {
        if (finishedStatement == null) {
            return db.run(locking.writeFinished(items)).retryWhen(db.retry()).doOnNext(this::publishAppended);
        }
        return db.run(Mono.defer(() -> {
                    Instant now = db.now();
                    return finishedStatement.write(items, now).map(rows -> FinishedCellsStatement.outcomes(items, rows, now));
                }))
                // A cell committed by another writer after the statement's snapshot (FinishedCellsStatement):
                // nothing of the statement is kept; written again, it sees that row and skips the cell.
                .retryWhen(Retry.max(FinishedCellsStatement.RACE_RETRIES).filter(DatabaseFaults::isDuplicateKey)
                        .onRetryExhaustedThrow((spec, signal) -> signal.failure()))
                .retryWhen(db.retry())
                .doOnNext(this::publishAppended);
    }

    /**
     * The {@code EventsAppended} of one stored event, carrying it, so that this instance's event
     * feeds pass it on without reading it back.
     */
    private void publishAppended(StoredEvent stored) {
        db.publishInBackground(new Signal.EventsAppended(stored.jobId(), stored.seq(), List.of(stored)));
    }

    /** One {@code EventsAppended} per job of the batch, carrying the job's events of the batch in seq order. */
    private void publishAppended(List<GroupCommit.Outcome<StoredEvent>> outcomes) {
        Map<JobId, List<StoredEvent>> byJob = new LinkedHashMap<>();
        for (var o : outcomes) {
            StoredEvent stored = o.value();
            if (stored != null) {
                byJob.computeIfAbsent(stored.jobId(), id -> new ArrayList<>()).add(stored);
            }
        }
        byJob.forEach((id, events) -> {
            events.sort(Comparator.comparingLong(StoredEvent::seq));
            publishAppended(id, events);
        });
    }

    /** One {@code EventsAppended} carrying {@code events} of {@code jobId} (in seq order); nothing for none. */
    private void publishAppended(JobId jobId, List<StoredEvent> events) {
        if (!events.isEmpty()) {
            db.publishInBackground(new Signal.EventsAppended(jobId, events.get(events.size() - 1).seq(), events));
        }
    }

    /** Batches and items written by the group commit so far (for measurements). */
    long[] batchStats() {
        return new long[] {finished.batches(), finished.items()};
    }
}
