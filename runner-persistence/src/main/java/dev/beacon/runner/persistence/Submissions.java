package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.IdempotencyConflictException;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.RetryRefusedException;
import dev.beacon.runner.core.store.Submission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * New jobs: a submission and the retry of a finished job, each one transaction that stores the job's
 * row with its first events (and, for a retry, the rows it carries over), idempotent under the
 * submission's key: the same key with the same spec (and source) is the earlier job, with another it
 * is an {@link IdempotencyConflictException}.
 */
final class Submissions {

    /** Rows per statement when a retry copies its source's rows. */
    private static final int CHUNK = 200;

    private final StoreDatabase db;
    private final SqlDialect dialect;
    private final JobJson json;
    private final JobReads reads;
    private final JournalStatements statements;

    Submissions(StoreDatabase db, SqlDialect dialect, JobJson json, JobReads reads, JournalStatements statements) {
        this.db = db;
        this.dialect = dialect;
        this.json = json;
        this.reads = reads;
        this.statements = statements;
    }

    /**
     * Stores {@code job} as QUEUED with its {@code job.queued}, or finds the earlier job of its key.
     * Publishes {@code EventsAppended} and {@code JobAvailable} after a commit that created it.
     */
    Mono<Submission> submit(NewJob job) {
        JobSpec spec = job.spec();
        String sha = json.specSha256(spec);
        int cells = CellLayout.cellCount(spec);
        Instant createdAt = SqlValues.micros(job.createdAt());
        var queued = new StoredEvent(job.id(), 1, createdAt, new JobEvent.JobQueued(cells));
        Mono<Submission> insert = db.transactional(insertJob(job, sha, cells, createdAt, 1, null)
                .flatMap(n -> n == 0 ? Mono.<Submission>empty()
                        : statements.insertEvents(List.of(queued)).thenReturn(new Submission(new JobRecord(
                                job.id(), spec.name(), JobStatus.QUEUED, spec, job.idempotencyKey(), createdAt,
                                null, null, ExecutionCounts.allPending(cells), null, null, false), true))));
        return stored(job, sha, null, insert);
    }

    /**
     * Stores {@code job} as the retry of terminal {@code source}: its rows whose status is not in
     * {@code rerun} are carried over (with their {@code execution.finished}); errors with
     * {@link RetryRefusedException} when the source is missing, not terminal or has nothing to rerun.
     */
    Mono<Submission> retry(NewJob job, JobId source, Set<ExecutionStatus> rerun) {
        JobSpec spec = job.spec();
        String sha = json.specSha256(spec);
        int cells = CellLayout.cellCount(spec);
        Instant createdAt = SqlValues.micros(job.createdAt());
        Mono<Submission> insert = db.transactional(db.sql("SELECT status FROM {jobs} WHERE id = :id").bind("id", source.value())
                .map((row, meta) -> JobStatus.valueOf(row.get("status", String.class))).one()
                .switchIfEmpty(Mono.error(() -> new RetryRefusedException(source, RetryRefusedException.Reason.SOURCE_NOT_FOUND,
                        "no job with id " + source)))
                .flatMap(status -> status.isTerminal() ? reads.selectExecutions(source).collectList()
                        : Mono.error(new RetryRefusedException(source, RetryRefusedException.Reason.SOURCE_NOT_TERMINAL,
                                "job " + source + " is " + status + "; only a finished job can be retried")))
                .flatMap(rows -> {
                    List<ExecutionResult> carried = JobSealer.inApiOrder(spec, rows).stream()
                            .filter(r -> !rerun.contains(r.status()))
                            .map(r -> SqlValues.micros(r.carriedFrom(source)))
                            .toList();
                    if (carried.size() >= cells) {
                        return Mono.error(new RetryRefusedException(source, RetryRefusedException.Reason.NOTHING_TO_RETRY,
                                "job " + source + " has no cell in " + rerun.stream().map(Enum::name).sorted().toList() + " to run again"));
                    }
                    List<StoredEvent> events = new ArrayList<>();
                    events.add(new StoredEvent(job.id(), 1, createdAt, new JobEvent.JobQueued(cells)));
                    for (ExecutionResult r : carried) {
                        events.add(new StoredEvent(job.id(), events.size() + 1, createdAt, new JobEvent.ExecutionFinished(r)));
                    }
                    return insertJob(job, sha, cells, createdAt, events.size(), source)
                            .flatMap(n -> n == 0 ? Mono.<Submission>empty()
                                    : Flux.fromIterable(SqlValues.chunks(carried, CHUNK))
                                            .concatMap(chunk -> statements.bindExecutions(chunk, chunk.stream().map(r -> job.id()).toList(), "")
                                                    .fetch().rowsUpdated())
                                            .then(Flux.fromIterable(SqlValues.chunks(events, CHUNK)).concatMap(statements::insertEvents).then())
                                            .then(reads.selectJob(job.id()))
                                            .map(r -> new Submission(r, true)));
                }));
        return stored(job, sha, source, insert);
    }

    /**
     * Inserts the job's row, QUEUED with {@code seq} events, unless one with its id or key exists: emits
     * the rows inserted (0 or 1). {@code ON CONFLICT DO NOTHING} (no target: H2 accepts only that) makes a
     * same-key race a normal outcome. A submission names no {@code retry_of}: it also runs against the
     * schemas from before that column, while their migration is being tested.
     */
    private Mono<Long> insertJob(NewJob job, String sha, int cells, Instant createdAt, long seq, @Nullable JobId retryOf) {
        GenericExecuteSpec insert = db.sql("""
                INSERT INTO {jobs} (id, name, status, spec, spec_sha256, idempotency_key, cells, created_at, event_seq%s)
                VALUES (:id, :name, 'QUEUED', %s, :sha, :key, :cells, :createdAt, :seq%s)
                ON CONFLICT DO NOTHING""".formatted(retryOf == null ? "" : ", retry_of", dialect.json("spec"),
                        retryOf == null ? "" : ", :source"))
                .bind("id", job.id().value()).bind("name", job.spec().name()).bind("spec", json.writeSpec(job.spec()))
                .bind("sha", sha).bind("cells", cells).bind("createdAt", SqlValues.ts(createdAt)).bind("seq", seq);
        insert = retryOf == null ? insert : insert.bind("source", retryOf.value());
        return SqlValues.nullable(insert, "key", job.idempotencyKey(), String.class).fetch().rowsUpdated();
    }

    /**
     * Runs {@code insert}; when it stored nothing (or lost a same-key race), the earlier job of the key.
     * Retried on transient faults; publishes the new job's events and availability after its commit.
     */
    private Mono<Submission> stored(NewJob job, String sha, @Nullable JobId retryOf, Mono<Submission> insert) {
        return db.run(insert)
                .switchIfEmpty(Mono.defer(() -> existing(job, sha, retryOf, null)))
                .onErrorResume(e -> job.idempotencyKey() != null && DatabaseFaults.isDuplicateKey(e), e -> existing(job, sha, retryOf, e))
                .retryWhen(db.retry())
                .flatMap(s -> s.created()
                        // job.queued, then one execution.finished per carried row
                        ? db.publish(new Signal.EventsAppended(job.id(), 1L + carried(s.job().counts())))
                                .then(db.publish(new Signal.JobAvailable())).thenReturn(s)
                        : Mono.just(s));
    }

    private static long carried(ExecutionCounts counts) {
        return counts.succeeded() + counts.failed() + counts.timedOut() + counts.cancelled();
    }

    /**
     * The earlier job with the same key, after an insert that did not happen ({@code cause} = why, or
     * null): the same job only if it has the same spec and retries the same source ({@code null}: none).
     */
    private Mono<Submission> existing(NewJob job, String sha, @Nullable JobId retryOf, @Nullable Throwable cause) {
        String key = job.idempotencyKey();
        if (key == null) {
            return Mono.error(new IllegalStateException("job " + job.id() + " already exists", cause));
        }
        return db.run(db.sql("SELECT id, spec_sha256, retry_of FROM {jobs} WHERE idempotency_key = :key")
                .bind("key", key)
                .map((row, meta) -> new Keyed(new JobId(row.get("id", UUID.class)), row.get("spec_sha256", String.class).trim(),
                        row.get("retry_of", UUID.class)))
                .one())
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("job " + job.id() + " already exists", cause)))
                .flatMap(found -> {
                    boolean sameSource = retryOf == null ? found.retryOf() == null : retryOf.value().equals(found.retryOf());
                    if (!found.specSha256().equals(sha) || !sameSource) {
                        return Mono.error(new IdempotencyConflictException(key, found.id()));
                    }
                    return reads.find(found.id()).map(r -> new Submission(r, false));
                });
    }

    /** The job stored under an idempotency key: what decides whether a new submission is the same job. */
    private record Keyed(JobId id, String specSha256, @Nullable UUID retryOf) {
    }
}
