package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.IdempotencyConflictException;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.EvidenceStore;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.OwnershipLostException;
import dev.beacon.runner.core.store.RetryRefusedException;
import dev.beacon.runner.core.store.StoreUnavailableException;
import dev.beacon.runner.core.store.Submission;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;
import org.springframework.r2dbc.connection.R2dbcTransactionManager;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import org.springframework.r2dbc.core.Parameter;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;
import reactor.util.retry.RetryBackoffSpec;

/**
 * The {@link JobStore} on R2DBC, for PostgreSQL and H2 (PostgreSQL mode), over the tables of the README's
 * "Storage" as created by {@link SchemaMigrator}.
 *
 * <p>Every write is one transaction, retried with backoff on transient faults (lost connection,
 * deadlock, lock timeout); retrying is safe because each write is idempotent per cell and per
 * transition. Writes that touch a job lock its {@code jobs} row first ({@code SELECT … FOR UPDATE}),
 * several jobs in id order, which serialises appends per job (so event sequence numbers, kept in
 * {@code jobs.event_seq}, have no gaps) and keeps lock order consistent (no deadlocks between stores).
 *
 * <p>{@code execution.finished} appends go through a group commit: appends that arrive while earlier
 * ones are being written share one transaction; a lone append is written at once.
 *
 * <p>After a commit the store publishes {@link Signal.EventsAppended}, {@link Signal.JobAvailable} or
 * {@link Signal.CancelRequested} through the {@link JobSignals} it was given, if any; a failed publish
 * never fails the write.
 *
 * <p>Fencing: {@link #journalFor(String)} gives an owner its own {@code JobJournal} whose appends
 * are refused with {@link OwnershipLostException} once the job has another owner (or none) or, when the
 * append runs with a {@link JobLease} in its Reactor context, once the job was claimed again since that
 * lease (its fencing token moved on) — checked under the job's row lock. Appends through the store
 * itself are not fenced; they still never store a cell twice nor change a terminal job, because those
 * writes are compare-and-set. Under a lease, the bookkeeping events ({@code job.started},
 * {@code question.started}, {@code question.finished}) are idempotent too: a retry after a commit
 * whose answer was lost finds the stored event (by a key of kind, question and token) and emits it.
 *
 * <p>Leases are measured on the database's clock ({@code CURRENT_TIMESTAMP}), never the instance's:
 * instances whose clocks disagree still agree on when a lease ends.
 *
 * <p>Every operation waits at most the builder's {@code timeout} for the database (for a query that
 * streams rows: for its first row) and then errors with {@link StoreUnavailableException}: a stalled
 * database makes callers fail fast instead of hanging. Such a timeout is not retried here.
 */
public final class R2dbcJobStore implements JobStore, EvidenceStore, AutoCloseable {

    private static final int CANCEL_CHUNK = 200;
    private static final int CANCEL_TIMEOUT_PERIODS = 6;
    private static final String JOB_COLUMNS = """
            SELECT j.id, j.name, j.status, j.spec, j.idempotency_key, j.cells, j.created_at, j.started_at,
                   j.finished_at, j.current_question, j.owner, j.cancel_requested, j.retry_of,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'SUCCEEDED') AS n_succeeded,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'FAILED') AS n_failed,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'TIMED_OUT') AS n_timed_out,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'CANCELLED') AS n_cancelled
            FROM {jobs} j
            """;

    private final DatabaseClient db;
    /** Where lease renewals run: their own connections, so that they never queue behind the jobs' writes. */
    private final DatabaseClient leaseDb;
    private final TransactionalOperator tx;
    private final JobJson json;
    private final Clock clock;
    /** Tests only: measures leases on this clock instead of the database's. */
    private final Clock leaseClock;
    private final Duration timeout;
    private final SqlDialect dialect;
    private final String prefix;
    private final JobSignals signals;
    private final Scheduler scheduler;
    /** The H2 threads this store made for itself, disposed by {@link #close()}; {@code null} otherwise. */
    private final Scheduler ownScheduler;
    private final RetryBackoffSpec retry;
    private final GroupCommit<FinishedCellsStatement.Item, StoredEvent> finished;
    /** PostgreSQL: a batch of finished cells as one statement; {@code null} on H2 (a transaction of several). */
    private final FinishedCellsStatement finishedStatement;
    /** PostgreSQL: a bookkeeping append as one statement; {@code null} on H2 (a transaction of several). */
    private final BookkeepingStatement bookkeeping;
    /** Signs rows that arrive unsigned and seals terminal jobs; {@code null}: neither. */
    private final JobSealer sealer;

    private R2dbcJobStore(Builder b) {
        this.db = b.client != null ? b.client : DatabaseClient.create(b.connectionFactory);
        this.leaseDb = b.leaseConnections != null ? DatabaseClient.create(b.leaseConnections) : db;
        this.tx = TransactionalOperator.create(new R2dbcTransactionManager(b.connectionFactory));
        this.json = b.json;
        this.clock = b.clock;
        this.leaseClock = b.leaseClock;
        this.timeout = b.timeout;
        this.dialect = b.dialect != null ? b.dialect : SqlDialect.of(b.connectionFactory);
        this.prefix = b.schema == null ? "" : b.schema + ".";
        this.signals = b.signals;
        // r2dbc-h2 runs statements on the calling thread and waits for locks there: give it threads
        // that may block, so that no event loop (and no other transaction's thread) is held up; and
        // threads of its own, so that a lock wait never holds up a host's (or Spring's) bounded-elastic work.
        this.ownScheduler = b.scheduler == null && dialect == SqlDialect.H2
                ? Schedulers.newBoundedElastic(4 * Runtime.getRuntime().availableProcessors(), 100_000, "beacon-h2", 60, true)
                : null;
        this.scheduler = b.scheduler != null ? b.scheduler : ownScheduler != null ? ownScheduler : Schedulers.immediate();
        this.retry = DatabaseFaults.transientRetry(b.retries, Duration.ofMillis(20));
        this.finishedStatement = dialect.supportsReturning() ? new FinishedCellsStatement(this::sql, json) : null;
        this.bookkeeping = dialect.supportsReturning() ? new BookkeepingStatement(this::sql, json) : null;
        this.finished = new GroupCommit<>(b.maxBatch, b.maxBatchesInFlight, this::writeFinished);
        this.sealer = b.signer == null ? null : new JobSealer(b.signer);
    }

    /** A builder for a store over {@code connectionFactory} (normally a pool). */
    public static Builder builder(ConnectionFactory connectionFactory) {
        return new Builder(connectionFactory, null);
    }

    /** A builder for a store that runs its SQL through {@code client} (and its connection factory). */
    public static Builder builder(DatabaseClient client) {
        return new Builder(client.getConnectionFactory(), client);
    }

    /** Disposes the threads this store made for H2 statements, if it made any; the database is the caller's. */
    @Override
    public void close() {
        if (ownScheduler != null) {
            ownScheduler.dispose();
        }
    }

    /** The dialect this store speaks. */
    public SqlDialect dialect() {
        return dialect;
    }

    // ------------------------------------------------------------------------------------ submit

    @Override
    public Mono<Submission> submit(NewJob job) {
        JobSpec spec = job.spec();
        String specJson = json.writeSpec(spec);
        String sha = json.specSha256(spec);
        int cells = CellLayout.cellCount(spec);
        Instant createdAt = micros(job.createdAt());
        var queued = new StoredEvent(job.id(), 1, createdAt, new JobEvent.JobQueued(cells));
        // ON CONFLICT DO NOTHING (no target: H2 accepts only that) makes a same-key race a normal outcome.
        GenericExecuteSpec insertJob = sql("""
                INSERT INTO {jobs} (id, name, status, spec, spec_sha256, idempotency_key, cells, created_at, event_seq)
                VALUES (:id, :name, 'QUEUED', %s, :sha, :key, :cells, :createdAt, 1)
                ON CONFLICT DO NOTHING""".formatted(dialect.json("spec")))
                .bind("id", job.id().value())
                .bind("name", spec.name())
                .bind("spec", specJson)
                .bind("sha", sha)
                .bind("cells", cells)
                .bind("createdAt", ts(createdAt));
        Mono<Submission> insert = tx.transactional(
                nullable(insertJob, "key", job.idempotencyKey(), String.class)
                        .fetch().rowsUpdated()
                        .flatMap(n -> n == 0 ? Mono.<Submission>empty()
                                : insertEvents(List.of(queued)).thenReturn(new Submission(new JobRecord(
                                        job.id(), spec.name(), JobStatus.QUEUED, spec, job.idempotencyKey(), createdAt,
                                        null, null, ExecutionCounts.allPending(cells), null, null, false), true))));
        return onDb(insert)
                .switchIfEmpty(Mono.defer(() -> existing(job, sha, null, null)))
                .onErrorResume(e -> job.idempotencyKey() != null && DatabaseFaults.isDuplicateKey(e), e -> existing(job, sha, null, e))
                .retryWhen(retry)
                .flatMap(s -> s.created()
                        ? publish(new Signal.EventsAppended(job.id(), 1)).then(publish(new Signal.JobAvailable())).thenReturn(s)
                        : Mono.just(s));
    }

    /**
     * The earlier job with the same key, after an insert that did not happen ({@code cause} = why, or
     * null): the same job only if it has the same spec and retries the same source ({@code null}: none).
     */
    private Mono<Submission> existing(NewJob job, String sha, JobId retryOf, Throwable cause) {
        if (job.idempotencyKey() == null) {
            return Mono.error(new IllegalStateException("job " + job.id() + " already exists", cause));
        }
        return onDb(sql("SELECT id, spec_sha256, retry_of FROM {jobs} WHERE idempotency_key = :key")
                .bind("key", job.idempotencyKey())
                .map((row, meta) -> new Object[] {row.get("id", UUID.class), row.get("spec_sha256", String.class).trim(),
                        row.get("retry_of", UUID.class)})
                .one())
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("job " + job.id() + " already exists", cause)))
                .flatMap(found -> {
                    JobId id = new JobId((UUID) found[0]);
                    UUID storedSource = (UUID) found[2];
                    boolean sameSource = retryOf == null ? storedSource == null : retryOf.value().equals(storedSource);
                    if (!found[1].equals(sha) || !sameSource) {
                        return Mono.error(new IdempotencyConflictException(job.idempotencyKey(), id));
                    }
                    return find(id).map(r -> new Submission(r, false));
                });
    }

    @Override
    public Mono<Submission> retry(NewJob job, JobId source, Set<ExecutionStatus> rerun) {
        JobSpec spec = job.spec();
        String sha = json.specSha256(spec);
        int cells = CellLayout.cellCount(spec);
        Instant createdAt = micros(job.createdAt());
        Mono<Submission> insert = tx.transactional(sql("SELECT status FROM {jobs} WHERE id = :id").bind("id", source.value())
                .map((row, meta) -> JobStatus.valueOf(row.get("status", String.class))).one()
                .switchIfEmpty(Mono.error(() -> new RetryRefusedException(source, RetryRefusedException.Reason.SOURCE_NOT_FOUND,
                        "no job with id " + source)))
                .flatMap(status -> status.isTerminal() ? executionsQuery(source).collectList()
                        : Mono.error(new RetryRefusedException(source, RetryRefusedException.Reason.SOURCE_NOT_TERMINAL,
                                "job " + source + " is " + status + "; only a finished job can be retried")))
                .flatMap(rows -> {
                    List<ExecutionResult> carried = JobSealer.inApiOrder(spec, rows).stream()
                            .filter(r -> !rerun.contains(r.status()))
                            .map(r -> micros(r.carriedFrom(source)))
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
                    GenericExecuteSpec insertJob = sql("""
                            INSERT INTO {jobs} (id, name, status, spec, spec_sha256, idempotency_key, cells, created_at, event_seq, retry_of)
                            VALUES (:id, :name, 'QUEUED', %s, :sha, :key, :cells, :createdAt, :seq, :source)
                            ON CONFLICT DO NOTHING""".formatted(dialect.json("spec")))
                            .bind("id", job.id().value()).bind("name", spec.name()).bind("spec", json.writeSpec(spec)).bind("sha", sha)
                            .bind("cells", cells).bind("createdAt", ts(createdAt)).bind("seq", (long) events.size())
                            .bind("source", source.value());
                    return nullable(insertJob, "key", job.idempotencyKey(), String.class).fetch().rowsUpdated()
                            .flatMap(n -> n == 0 ? Mono.<Submission>empty()
                                    : Flux.fromIterable(chunks(carried, CANCEL_CHUNK))
                                            .concatMap(chunk -> bindExecutions(chunk, chunk.stream().map(r -> job.id()).toList(), "")
                                                    .fetch().rowsUpdated())
                                            .then(Flux.fromIterable(chunks(events, CANCEL_CHUNK)).concatMap(this::insertEvents).then())
                                            .then(findQuery(job.id()))
                                            .map(r -> new Submission(r, true)));
                }));
        return onDb(insert)
                .switchIfEmpty(Mono.defer(() -> existing(job, sha, source, null)))
                .onErrorResume(e -> job.idempotencyKey() != null && DatabaseFaults.isDuplicateKey(e), e -> existing(job, sha, source, e))
                .retryWhen(retry)
                .flatMap(s -> s.created()
                        // job.queued, then one execution.finished per carried row
                        ? publish(new Signal.EventsAppended(job.id(), 1L + s.job().counts().succeeded() + s.job().counts().failed()
                                + s.job().counts().timedOut() + s.job().counts().cancelled()))
                                .then(publish(new Signal.JobAvailable())).thenReturn(s)
                        : Mono.just(s));
    }

    // ------------------------------------------------------------------------------------ queries

    @Override
    public Mono<JobRecord> find(JobId id) {
        return onDb(findQuery(id));
    }

    private Mono<JobRecord> findQuery(JobId id) {
        return sql(JOB_COLUMNS + " WHERE j.id = :id").bind("id", id.value()).map(this::mapJob).one();
    }

    @Override
    public Flux<JobRecord> list(JobQuery query) {
        StringBuilder where = new StringBuilder(" WHERE 1 = 1");
        if (query.status() != null) {
            where.append(" AND j.status = :status");
        }
        if (query.before() != null) {
            where.append(" AND EXISTS (SELECT 1 FROM {jobs} b WHERE b.id = :before AND (j.created_at < b.created_at"
                    + " OR (j.created_at = b.created_at AND j.id < b.id)))");
        }
        GenericExecuteSpec spec = sql(JOB_COLUMNS + where + " ORDER BY j.created_at DESC, j.id DESC LIMIT :limit")
                .bind("limit", query.limit());
        if (query.status() != null) {
            spec = spec.bind("status", query.status().name());
        }
        if (query.before() != null) {
            spec = spec.bind("before", query.before().value());
        }
        return onDb(spec.map(this::mapJob).all());
    }

    /**
     * Every row of the job in API order, read one question at a time (a page is one question's
     * rows, sorted in memory), so that an export of any size holds one page at a time and a
     * subscriber that cancels stops the reading. Rows of questions the spec does not list (there
     * should be none) come last rather than vanish. Errors with the store's error, page by page.
     */
    @Override
    public Flux<JobId> retriesOf(JobId source) {
        return onDb(sql("SELECT id FROM {jobs} WHERE retry_of = :source ORDER BY created_at DESC, id DESC")
                .bind("source", source.value())
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all());
    }

    @Override
    public Flux<ExecutionResult> orderedExecutions(JobId id) {
        return onDb(sql("SELECT spec FROM {jobs} WHERE id = :id").bind("id", id.value())
                .map((row, meta) -> json.readSpec(row.get("spec", String.class))).one())
                .flatMapMany(spec -> {
                    List<String> questionIds = spec.questions().stream().map(q -> q.id()).toList();
                    Flux<ExecutionResult> inOrder = Flux.fromIterable(questionIds)
                            .concatMap(q -> onDb(sql("SELECT " + ExecutionColumns.CSV + " FROM {executions} WHERE job_id = :id AND question_id = :q")
                                            .bind("id", id.value()).bind("q", q).map(this::mapExecution).all())
                                    .collectList()
                                    .flatMapIterable(rows -> JobSealer.inApiOrder(spec, rows)), 0);
                    Flux<ExecutionResult> strays = onDb(sql("SELECT " + ExecutionColumns.CSV
                            + " FROM {executions} WHERE job_id = :id AND question_id NOT IN (:questions)")
                            .bind("id", id.value()).bind("questions", questionIds).map(this::mapExecution).all());
                    return inOrder.concatWith(strays);
                });
    }

    // ------------------------------------------------------------------------------------ evidence

    /** Inserts the key unless its id is recorded already (then its first {@code created_at} stays). */
    @Override
    public Mono<Void> registerKey(RunnerKey key) {
        return onDb(sql("""
                INSERT INTO {runner_keys} (key_id, algorithm, public_key, created_at) VALUES (:id, :algorithm, :key, :at)
                ON CONFLICT DO NOTHING""")
                .bind("id", key.keyId()).bind("algorithm", key.algorithm()).bind("key", key.publicKey()).bind("at", ts(micros(key.createdAt())))
                .fetch().rowsUpdated()).then();
    }

    @Override
    public Flux<RunnerKey> keys() {
        return onDb(sql("SELECT key_id, algorithm, public_key, created_at FROM {runner_keys} ORDER BY created_at, key_id")
                .map((row, meta) -> new RunnerKey(row.get("key_id", String.class), row.get("algorithm", String.class),
                        row.get("public_key", String.class), instant(row, "created_at")))
                .all());
    }

    @Override
    public Mono<JobEvidence> evidence(JobId id) {
        return onDb(sql("SELECT spec_sha256, seal_json FROM {jobs} WHERE id = :id").bind("id", id.value())
                .map((row, meta) -> new JobEvidence(row.get("spec_sha256", String.class), json.readSeal(row.get("seal_json", String.class))))
                .one());
    }

    @Override
    public Flux<ExecutionResult> executions(JobId jobId) {
        return onDb(executionsQuery(jobId));
    }

    private Flux<ExecutionResult> executionsQuery(JobId jobId) {
        return sql("SELECT " + ExecutionColumns.CSV + " FROM {executions} WHERE job_id = :id")
                .bind("id", jobId.value()).map(this::mapExecution).all();
    }

    @Override
    public Flux<StoredEvent> events(JobId id, long afterSeq) {
        return onDb(sql("SELECT job_id, seq, data, created_at FROM {job_events} WHERE job_id = :id AND seq > :after ORDER BY seq")
                .bind("id", id.value()).bind("after", afterSeq).map(this::mapEvent).all());
    }

    // ------------------------------------------------------------------------------------ journal

    /**
     * {@inheritDoc}
     *
     * <p>Not fenced (see {@link #journalFor(String)}). Errors with {@link IllegalArgumentException} if
     * the job does not exist; completes empty for a job that is already terminal (nothing stored).
     */
    @Override
    public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
        return append(jobId, event, null, null);
    }

    /**
     * The journal of one runner instance: the same appends as {@link #append(JobId, JobEvent)}, but
     * fenced: while the job is not terminal, an append errors with {@link OwnershipLostException} (and
     * stores nothing) unless {@code owner} still holds the job, as set by {@link #claimNext} — and, if
     * the append's Reactor context carries the {@link JobLease} of the job, still under that lease's
     * fencing token.
     */
    public JobJournal journalFor(String owner) {
        requireOwner(owner);
        return new JobJournal() {
            @Override
            public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
                return Mono.deferContextual(ctx -> R2dbcJobStore.this.append(jobId, event, owner,
                        JobLease.of(ctx, jobId).map(JobLease::token).orElse(null)));
            }

            @Override
            public Flux<ExecutionResult> executions(JobId jobId) {
                return R2dbcJobStore.this.executions(jobId);
            }
        };
    }

    private Mono<StoredEvent> append(JobId jobId, JobEvent event, String owner, Long token) {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(event, "event");
        if (event instanceof JobEvent.ExecutionFinished f) {
            return finished.submit(new FinishedCellsStatement.Item(jobId, signed(jobId, micros(f.result())), owner, token));
        }
        String dedupeKey = token == null ? null : dedupeKey(event, token);
        if (bookkeeping != null && BookkeepingStatement.handles(event)) {
            return onDb(Mono.defer(() -> {
                        Instant now = now();
                        return bookkeeping.write(jobId, event, owner, token, dedupeKey, now)
                                .flatMap(result -> bookkept(jobId, event, owner, token, now, result));
                    }))
                    // The statement's snapshot predates its lock: a retried append whose first attempt
                    // committed while this one waited for the row does not see that event and collides
                    // with its dedupe key (nothing of this statement is kept). Once more, it sees it.
                    .retryWhen(Retry.max(1).filter(e -> dedupeKey != null && DatabaseFaults.isDuplicateKey(e)))
                    .retryWhen(retry)
                    .doOnNext(stored -> publishInBackground(new Signal.EventsAppended(jobId, stored.seq())));
        }
        return onDb(tx.transactional(lock(jobId).flatMap(job -> fenced(job, owner, token)
                        ? Mono.error(new OwnershipLostException(jobId, owner, job.owner()))
                        : dedupeKey == null ? appendInTransaction(job, event, null)
                        : storedWithKey(jobId, dedupeKey).switchIfEmpty(Mono.defer(() -> appendInTransaction(job, event, dedupeKey))))))
                .retryWhen(retry)
                .doOnNext(stored -> publishInBackground(new Signal.EventsAppended(jobId, stored.seq())));
    }

    /** What a {@link BookkeepingStatement} did, as the append reports it; the same outcomes as {@link #appendInTransaction}. */
    private Mono<StoredEvent> bookkept(JobId jobId, JobEvent event, String owner, Long token, Instant now, BookkeepingStatement.Result r) {
        if (!r.found()) {
            return Mono.error(new IllegalArgumentException("job must exist, but " + jobId + " does not"));
        }
        if (Fencing.refuses(r.status(), r.owner(), r.leaseToken(), owner, token)) {
            return Mono.error(new OwnershipLostException(jobId, owner, r.owner()));
        }
        if (r.earlierSeq() != null) {
            return Mono.just(json.readEvent(jobId, r.earlierSeq(), r.earlierAt().toInstant(), r.earlierData()));
        }
        return r.seq() == null ? Mono.empty() : Mono.just(new StoredEvent(jobId, r.seq(), now, event));
    }

    /**
     * Whether {@code owner}'s write (under fencing token {@code token}, if not null) must be refused:
     * the job is live and held by someone else, or claimed again since that token.
     */
    private static boolean fenced(LockedJob job, String owner, Long token) {
        return Fencing.refuses(job.status(), job.owner(), job.leaseToken(), owner, token);
    }

    /**
     * The key that makes a bookkeeping append of one run idempotent, or {@code null} for events that
     * are idempotent by themselves ({@code execution.finished} per cell, {@code job.finished} by its
     * transition).
     */
    private static String dedupeKey(JobEvent event, long token) {
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

    /** The event stored earlier under {@code dedupeKey}, if any (a retried append). */
    private Mono<StoredEvent> storedWithKey(JobId jobId, String dedupeKey) {
        return sql("SELECT job_id, seq, data, created_at FROM {job_events} WHERE job_id = :id AND dedupe_key = :key")
                .bind("id", jobId.value()).bind("key", dedupeKey)
                .map(this::mapEvent).one();
    }

    private Mono<StoredEvent> appendInTransaction(LockedJob job, JobEvent event, String dedupeKey) {
        Instant now = now();
        long seq = job.eventSeq() + 1;
        StoredEvent stored;
        Mono<Long> change;
        if (event instanceof JobEvent.JobStarted) {
            // RUNNING → RUNNING is a resume by a new owner, not a transition.
            if (job.status() != JobStatus.RUNNING && !job.status().canTransitionTo(JobStatus.RUNNING)) {
                return Mono.empty();
            }
            stored = new StoredEvent(job.id(), seq, now, event);
            change = sql("""
                    UPDATE {jobs} SET status = 'RUNNING', started_at = COALESCE(started_at, :now), current_question = NULL,
                           event_seq = :seq
                    WHERE id = :id AND status = :expected""")
                    .bind("now", ts(now)).bind("seq", seq).bind("id", job.id().value()).bind("expected", job.status().name())
                    .fetch().rowsUpdated();
        } else if (event instanceof JobEvent.JobFinished f) {
            if (!job.status().canTransitionTo(f.status())) {
                return Mono.empty(); // already terminal: a lost race, not an error
            }
            return Mono.zip(counts(job.id(), job.cells()), sealOf(job, f.status(), now)).flatMap(countsAndSeal -> {
                Seal seal = countsAndSeal.getT2().orElse(null);
                var replaced = new StoredEvent(job.id(), seq, now, new JobEvent.JobFinished(f.status(), countsAndSeal.getT1(), seal));
                return finish(job, f.status(), seq, now, seal).flatMap(n -> n == 0 ? Mono.<StoredEvent>empty()
                        : insertEvents(List.of(replaced)).thenReturn(replaced));
            });
        } else {
            if (job.status().isTerminal()) {
                return Mono.empty(); // a terminal job never changes again, its log included
            }
            stored = new StoredEvent(job.id(), seq, now, event);
            GenericExecuteSpec update = event instanceof JobEvent.QuestionStarted q
                    ? sql("UPDATE {jobs} SET current_question = :index, event_seq = :seq WHERE id = :id AND status = :expected")
                            .bind("index", q.index())
                    : sql("UPDATE {jobs} SET event_seq = :seq WHERE id = :id AND status = :expected");
            change = update.bind("seq", seq).bind("id", job.id().value()).bind("expected", job.status().name())
                    .fetch().rowsUpdated();
        }
        return change.flatMap(n -> n == 0 ? Mono.<StoredEvent>empty() : insertEvent(stored, dedupeKey).thenReturn(stored));
    }

    private Mono<Long> finish(LockedJob job, JobStatus to, long seq, Instant now, Seal seal) {
        GenericExecuteSpec update = sql("""
                UPDATE {jobs} SET status = :to, finished_at = :now, owner = NULL, lease_until = NULL, event_seq = :seq,
                       seal_json = %s
                WHERE id = :id AND status = :expected""".formatted(dialect.json("seal")))
                .bind("to", to.name()).bind("now", ts(now)).bind("seq", seq)
                .bind("id", job.id().value()).bind("expected", job.status().name());
        return nullable(update, "seal", json.writeSeal(seal), String.class).fetch().rowsUpdated();
    }

    /** {@code result} with a receipt: its own, or one this store signs for a row that arrived without. */
    private ExecutionResult signed(JobId jobId, ExecutionResult result) {
        return sealer == null ? result : sealer.withReceipt(jobId, result);
    }

    /**
     * The seal of {@code job} becoming {@code to}, over the rows stored so far (the caller holds the
     * job's row lock, so none is added meanwhile); empty when this store signs nothing.
     */
    private Mono<Optional<Seal>> sealOf(LockedJob job, JobStatus to, Instant now) {
        if (sealer == null) {
            return Mono.just(Optional.empty());
        }
        return sql("SELECT spec, spec_sha256 FROM {jobs} WHERE id = :id").bind("id", job.id().value())
                .map((row, meta) -> Map.entry(json.readSpec(row.get("spec", String.class)), row.get("spec_sha256", String.class)))
                .one()
                .zipWith(executionsQuery(job.id()).collectList())
                .map(t -> Optional.of(sealer.seal(job.id(), t.getT1().getKey(), t.getT1().getValue(), to, t.getT2(), now)));
    }

    /** One batch of {@code execution.finished} appends, in one transaction; outcomes in item order. */
    private Mono<List<GroupCommit.Outcome<StoredEvent>>> writeFinished(List<FinishedCellsStatement.Item> items) {
        if (finishedStatement != null) {
            return onDb(Mono.defer(() -> {
                        Instant now = now();
                        return finishedStatement.write(items, now).map(rows -> FinishedCellsStatement.outcomes(items, rows, now));
                    }))
                    .retryWhen(retry)
                    .doOnNext(this::publishAppended);
        }
        return writeFinishedInTransaction(items);
    }

    /** {@link #writeFinished} where one statement cannot do it (H2): lock, insert rows, advance seqs, insert events. */
    private Mono<List<GroupCommit.Outcome<StoredEvent>>> writeFinishedInTransaction(List<FinishedCellsStatement.Item> items) {
        Set<UUID> ids = items.stream().map(i -> i.jobId().value()).collect(Collectors.toCollection(TreeSet::new));
        Mono<List<GroupCommit.Outcome<StoredEvent>>> work = lockAll(ids).flatMap(locked -> {
            List<Integer> writable = new ArrayList<>();
            Set<Integer> refused = new java.util.HashSet<>();
            for (int i = 0; i < items.size(); i++) {
                LockedJob job = locked.get(items.get(i).jobId().value());
                if (job != null && fenced(job, items.get(i).owner(), items.get(i).token())) {
                    refused.add(i);
                } else if (job != null && !job.status().isTerminal()) {
                    writable.add(i);
                }
            }
            return insertExecutions(writable.stream().map(items::get).map(FinishedCellsStatement.Item::result).toList(),
                    writable.stream().map(i -> items.get(i).jobId()).toList())
                    .flatMap(inserted -> {
                        Instant now = now();
                        Map<UUID, Long> seqs = new LinkedHashMap<>();
                        locked.forEach((id, job) -> seqs.put(id, job.eventSeq()));
                        List<GroupCommit.Outcome<StoredEvent>> outcomes = new ArrayList<>();
                        List<StoredEvent> events = new ArrayList<>();
                        int w = 0;
                        for (int i = 0; i < items.size(); i++) {
                            FinishedCellsStatement.Item item = items.get(i);
                            UUID id = item.jobId().value();
                            if (!locked.containsKey(id)) {
                                outcomes.add(GroupCommit.Outcome.failed(
                                        new IllegalArgumentException("job must exist, but " + id + " does not")));
                            } else if (refused.contains(i)) {
                                outcomes.add(GroupCommit.Outcome.failed(
                                        new OwnershipLostException(item.jobId(), item.owner(), locked.get(id).owner())));
                            } else if (w < writable.size() && writable.get(w) == i) {
                                if (inserted.get(w++)) {
                                    long seq = seqs.merge(id, 1L, Long::sum);
                                    var stored = new StoredEvent(item.jobId(), seq, now, new JobEvent.ExecutionFinished(item.result()));
                                    events.add(stored);
                                    outcomes.add(GroupCommit.Outcome.of(stored));
                                } else {
                                    outcomes.add(GroupCommit.Outcome.empty()); // the cell already had its row
                                }
                            } else {
                                outcomes.add(GroupCommit.Outcome.empty()); // job already terminal
                            }
                        }
                        seqs.entrySet().removeIf(e -> e.getValue() == locked.get(e.getKey()).eventSeq());
                        return advanceSeqs(seqs).then(insertEvents(events)).thenReturn(outcomes);
                    });
        });
        return onDb(tx.transactional(work))
                .retryWhen(retry)
                .doOnNext(this::publishAppended);
    }

    /** Sets {@code event_seq} of several (locked) jobs in one statement: one round trip per batch, not per job. */
    private Mono<Void> advanceSeqs(Map<UUID, Long> seqs) {
        if (seqs.isEmpty()) {
            return Mono.empty();
        }
        StringBuilder sql = new StringBuilder("UPDATE {jobs} SET event_seq = CASE id");
        int i = 0;
        for (int n = 0; n < seqs.size(); n++) {
            sql.append(" WHEN :i").append(n).append(" THEN :s").append(n);
        }
        sql.append(" ELSE event_seq END WHERE id IN (:ids)");
        GenericExecuteSpec spec = sql(sql.toString()).bind("ids", List.copyOf(seqs.keySet()));
        for (Map.Entry<UUID, Long> e : seqs.entrySet()) {
            spec = spec.bind("i" + i, e.getKey()).bind("s" + i, e.getValue());
            i++;
        }
        return spec.fetch().rowsUpdated().then();
    }

    private void publishAppended(List<GroupCommit.Outcome<StoredEvent>> outcomes) {
        Map<JobId, Long> last = new LinkedHashMap<>();
        for (var o : outcomes) {
            if (o.value() != null) {
                last.merge(o.value().jobId(), o.value().seq(), Math::max);
            }
        }
        last.forEach((id, seq) -> publishInBackground(new Signal.EventsAppended(id, seq)));
    }

    /**
     * Inserts execution rows, skipping cells that already have one; emits, per result, whether its
     * row was inserted. PostgreSQL does it in one statement ({@code RETURNING} names the inserted
     * cells); H2 has no {@code RETURNING}, so there it is one statement per row.
     */
    private Mono<List<Boolean>> insertExecutions(List<ExecutionResult> results, List<JobId> jobIds) {
        if (results.isEmpty()) {
            return Mono.just(List.of());
        }
        if (dialect.supportsReturning()) {
            GenericExecuteSpec spec = bindExecutions(results, jobIds, " ON CONFLICT DO NOTHING RETURNING job_id, question_id, model_id, region, sample");
            return spec.map((row, meta) -> row.get("job_id", UUID.class) + "|" + row.get("question_id", String.class)
                            + "|" + row.get("model_id", String.class) + "|" + row.get("region", String.class)
                            + "|" + row.get("sample", Integer.class))
                    .all().collect(Collectors.toSet())
                    .map(keys -> {
                        // A cell twice in one statement is inserted once: only its first occurrence counts.
                        List<Boolean> inserted = new ArrayList<>();
                        for (int i = 0; i < results.size(); i++) {
                            inserted.add(keys.remove(cellKey(jobIds.get(i), results.get(i).cell())));
                        }
                        return inserted;
                    });
        }
        return Flux.range(0, results.size())
                .concatMap(i -> bindExecutions(List.of(results.get(i)), List.of(jobIds.get(i)), " ON CONFLICT DO NOTHING")
                        .fetch().rowsUpdated().map(n -> n > 0))
                .collectList();
    }

    private static String cellKey(JobId jobId, Cell cell) {
        return jobId.value() + "|" + cell.questionId() + "|" + cell.endpoint().model() + "|" + cell.endpoint().region() + "|" + cell.sample();
    }

    private GenericExecuteSpec bindExecutions(List<ExecutionResult> results, List<JobId> jobIds, String suffix) {
        List<String> names = ExecutionColumns.NAMES;
        StringBuilder sql = new StringBuilder("INSERT INTO {executions} (" + ExecutionColumns.CSV + ") VALUES ");
        // One bindValues call: binding one by one copies the binding map per call (quadratic in rows).
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < results.size(); i++) {
            Object[] row = ExecutionColumns.values(json, jobIds.get(i), results.get(i));
            sql.append(i == 0 ? "(" : ", (");
            for (int c = 0; c < names.size(); c++) {
                String param = "c" + c + "_" + i;
                sql.append(c == 0 ? "" : ", ").append(ExecutionColumns.JSON.contains(names.get(c)) ? dialect.json(param) : ":" + param);
                values.put(param, row[c] == null ? Parameter.empty(ExecutionColumns.type(c)) : row[c]);
            }
            sql.append(')');
        }
        return sql(sql + suffix).bindValues(values);
    }

    /** Inserts one event with its dedupe key ({@code null} for none). */
    private Mono<Void> insertEvent(StoredEvent event, String dedupeKey) {
        GenericExecuteSpec spec = sql("INSERT INTO {job_events} (job_id, seq, type, data, created_at, dedupe_key) VALUES (:j, :s, :t, %s, :c, :k)"
                .formatted(dialect.json("d")))
                .bind("j", event.jobId().value()).bind("s", event.seq()).bind("t", event.type())
                .bind("d", json.writeEventData(event)).bind("c", ts(event.createdAt()));
        return nullable(spec, "k", dedupeKey, String.class).fetch().rowsUpdated().then();
    }

    private Mono<Void> insertEvents(List<StoredEvent> events) {
        if (events.isEmpty()) {
            return Mono.empty();
        }
        StringBuilder sql = new StringBuilder("INSERT INTO {job_events} (job_id, seq, type, data, created_at) VALUES ");
        for (int i = 0; i < events.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("(:j%1$d, :s%1$d, :t%1$d, %2$s, :c%1$d)".formatted(i, dialect.json("d" + i)));
        }
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < events.size(); i++) {
            StoredEvent e = events.get(i);
            values.put("j" + i, e.jobId().value());
            values.put("s" + i, e.seq());
            values.put("t" + i, e.type());
            values.put("d" + i, json.writeEventData(e));
            values.put("c" + i, ts(e.createdAt()));
        }
        return sql(sql.toString()).bindValues(values).fetch().rowsUpdated().then();
    }

    private Mono<ExecutionCounts> counts(JobId id, int cells) {
        return sql("SELECT status, COUNT(*) AS n FROM {executions} WHERE job_id = :id GROUP BY status")
                .bind("id", id.value())
                .map((row, meta) -> Map.entry(ExecutionStatus.valueOf(row.get("status", String.class)),
                        row.get("n", Number.class).intValue()))
                .all()
                .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                .map(by -> countsOf(cells, by.getOrDefault(ExecutionStatus.SUCCEEDED, 0), by.getOrDefault(ExecutionStatus.FAILED, 0),
                        by.getOrDefault(ExecutionStatus.TIMED_OUT, 0), by.getOrDefault(ExecutionStatus.CANCELLED, 0)));
    }

    private static ExecutionCounts countsOf(int cells, int succeeded, int failed, int timedOut, int cancelled) {
        int pending = Math.max(0, cells - succeeded - failed - timedOut - cancelled);
        return new ExecutionCounts(succeeded, failed, timedOut, cancelled, pending);
    }

    // ------------------------------------------------------------------------------------ cancel

    @Override
    public Mono<CancelOutcome> requestCancel(JobId id) {
        Mono<Cancel> work = sql(
                "SELECT id, status, event_seq, cells, owner, lease_token, spec FROM {jobs} WHERE id = :id FOR UPDATE")
                .bind("id", id.value())
                .map((row, meta) -> Map.entry(mapLocked(row), row.get("spec", String.class)))
                .one()
                .flatMap(found -> {
                    LockedJob job = found.getKey();
                    if (job.status().isTerminal()) {
                        return Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, 0));
                    }
                    // A queued job that an instance has claimed (owner set, not started yet) is that
                    // instance's to cancel: cancelling it here would race its start.
                    if (job.status() == JobStatus.RUNNING || job.owner() != null) {
                        return sql("UPDATE {jobs} SET cancel_requested = TRUE WHERE id = :id AND status = :status")
                                .bind("id", id.value()).bind("status", job.status().name()).fetch().rowsUpdated()
                                .thenReturn(new Cancel(CancelOutcome.REQUESTED, 0));
                    }
                    return cancelQueued(job, json.readSpec(found.getValue()));
                })
                .defaultIfEmpty(new Cancel(CancelOutcome.NOT_FOUND, 0));
        // The cancel of a queued job stores a row per cell (the largest jobs have tens of thousands).
        return onDb(tx.transactional(work), timeout.multipliedBy(CANCEL_TIMEOUT_PERIODS))
                .retryWhen(retry)
                .flatMap(result -> switch (result.outcome()) {
                    case REQUESTED -> publish(new Signal.CancelRequested(id)).thenReturn(result.outcome());
                    case CANCELLED -> publish(new Signal.EventsAppended(id, result.seq())).thenReturn(result.outcome());
                    default -> Mono.just(result.outcome());
                });
    }

    @Override
    public Flux<JobId> cancelRequested(Collection<JobId> jobs) {
        if (jobs.isEmpty()) {
            return Flux.empty();
        }
        return onDb(sql("SELECT id FROM {jobs} WHERE id IN (:ids) AND cancel_requested AND status IN ('QUEUED', 'RUNNING')")
                .bind("ids", jobs.stream().map(JobId::value).toList())
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all());
    }

    /**
     * QUEUED → CANCELLED: a CANCELLED row and its {@code execution.finished} for every cell without a
     * row, then {@code job.finished} with the row counts; all in the caller's transaction.
     */
    private Mono<Cancel> cancelQueued(LockedJob job, JobSpec spec) {
        if (!job.status().canTransitionTo(JobStatus.CANCELLED)) {
            return Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, 0));
        }
        Instant now = now();
        var error = new ExecutionError(ExecutionError.CANCELLED, "job cancelled before it started");
        List<ExecutionResult> rows = CellLayout.cells(spec).stream()
                .map(cell -> signed(job.id(), ExecutionResult.notRun(cell, ExecutionStatus.CANCELLED, error, now)))
                .toList();
        // Every cell that becomes terminal has its execution.finished, as in a run; a retry's carried
        // cells have their rows (and events) already, so only the rows inserted here get one.
        long[] seq = {job.eventSeq()};
        return Flux.fromIterable(chunks(rows, CANCEL_CHUNK))
                .concatMap(chunk -> insertExecutions(chunk, chunk.stream().map(r -> job.id()).toList())
                        .flatMap(inserted -> {
                            List<StoredEvent> events = new ArrayList<>();
                            for (int i = 0; i < chunk.size(); i++) {
                                if (inserted.get(i)) {
                                    events.add(new StoredEvent(job.id(), ++seq[0], now, new JobEvent.ExecutionFinished(chunk.get(i))));
                                }
                            }
                            return insertEvents(events);
                        }))
                .then(Mono.zip(counts(job.id(), job.cells()), sealOf(job, JobStatus.CANCELLED, now)))
                .flatMap(countsAndSeal -> {
                    Seal seal = countsAndSeal.getT2().orElse(null);
                    long last = ++seq[0];
                    var stored = new StoredEvent(job.id(), last, now, new JobEvent.JobFinished(JobStatus.CANCELLED, countsAndSeal.getT1(), seal));
                    return finish(job, JobStatus.CANCELLED, last, now, seal).flatMap(n -> n == 0
                            ? Mono.just(new Cancel(CancelOutcome.ALREADY_TERMINAL, 0))
                            : insertEvents(List.of(stored)).thenReturn(new Cancel(CancelOutcome.CANCELLED, last)));
                });
    }

    private static <T> List<List<T>> chunks(List<T> all, int size) {
        List<List<T>> result = new ArrayList<>();
        for (int i = 0; i < all.size(); i += size) {
            result.add(all.subList(i, Math.min(all.size(), i + size)));
        }
        return result;
    }

    /** What a cancel did, and the seq of the {@code job.finished} it stored (if it did). */
    private record Cancel(CancelOutcome outcome, long seq) {
    }

    // ------------------------------------------------------------------------------------ claiming

    @Override
    public Mono<ClaimedJob> claimNext(String owner, Duration lease) {
        return claim(owner, lease, 1, Set.of()).next();
    }

    /**
     * {@inheritDoc}
     *
     * <p>PostgreSQL: one transaction locks up to {@code max} claimable rows ({@code FOR UPDATE SKIP
     * LOCKED}, so concurrent claimers still never get the same job), takes them in one {@code UPDATE}
     * and reads them back. Claiming one job per transaction made a burst of submissions wait for the
     * dispatcher: each claim queued for a pooled connection behind the writes of the jobs already
     * running, and the benchmark suite's 500 concurrent jobs were still being claimed 49 s after the
     * last one was accepted.
     *
     * <p>H2 applies {@code LIMIT} before {@code SKIP LOCKED} (see {@link SqlDialect#skipLockedAfterLimit}),
     * so there each job is claimed by an autocommit compare-and-set on one of a few candidates: no
     * lock outlives its statement, and on H2 a transaction must stay on its thread, or blocked
     * claimers can starve it of bounded-elastic threads while they wait for its lock.
     */
    @Override
    public Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded) {
        requireOwner(owner);
        requireLease(lease);
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, but was " + max);
        }
        Objects.requireNonNull(excluded, "excluded");
        if (!dialect.skipLockedAfterLimit()) {
            return Flux.range(0, max)
                    .concatMap(i -> onDb(claimOptimistic(owner, lease, excluded, 5).flatMap(this::claimed)).retryWhen(retry)
                            .map(java.util.Optional::of).defaultIfEmpty(java.util.Optional.empty()), 1)
                    .takeWhile(java.util.Optional::isPresent)
                    .map(java.util.Optional::get);
        }
        Mono<List<ClaimedJob>> work = tx.transactional(Mono.defer(() -> bindNow(claimable(excluded, "LIMIT :max FOR UPDATE SKIP LOCKED"), excluded)
                .bind("max", max)
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all().collectList()
                .flatMap(ids -> ids.isEmpty() ? Mono.just(List.<ClaimedJob>of())
                        : take(ids, owner, lease).thenMany(Flux.fromIterable(ids).concatMap(this::claimed, 1)).collectList())));
        return onDb(work).retryWhen(retry).flatMapIterable(claimed -> claimed);
    }

    /**
     * The oldest claimable jobs: no owner, or an expired lease, whatever the status (a claimed job
     * stays {@code QUEUED} until the engine appends {@code job.started}); never one of {@code excluded}.
     */
    private GenericExecuteSpec claimable(Set<JobId> excluded, String tail) {
        return sql("SELECT id FROM {jobs} WHERE " + CLAIMABLE.formatted(dbNow()) + (excluded.isEmpty() ? "" : " AND id NOT IN (:excluded)")
                + " ORDER BY created_at, id " + tail);
    }

    /** The claimable condition; {@code %s} is the database's now ({@link #dbNow()}). */
    private static final String CLAIMABLE =
            "status IN ('QUEUED', 'RUNNING') AND (owner IS NULL OR lease_until IS NULL OR lease_until < %s)";

    /**
     * H2: read a few claimable ids, then take the first one whose compare-and-set still matches. If
     * every candidate was taken meanwhile, look again (at most {@code rounds} times).
     */
    private Mono<JobId> claimOptimistic(String owner, Duration lease, Set<JobId> excluded, int rounds) {
        return Mono.defer(() -> bindNow(claimable(excluded, "LIMIT 16"), excluded)
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all().collectList()
                .flatMap(candidates -> Flux.fromIterable(candidates)
                        .concatMap(id -> take(List.of(id), owner, lease).filter(n -> n > 0).map(n -> id), 1)
                        .next()
                        .switchIfEmpty(Mono.defer(() -> candidates.isEmpty() || rounds <= 1 ? Mono.empty()
                                : claimOptimistic(owner, lease, excluded, rounds - 1)))));
    }

    /**
     * Takes claimable jobs for {@code owner} and raises their fencing tokens. On PostgreSQL the rows
     * are locked by this transaction already; the conditions are kept as the H2 compare-and-set.
     */
    private Mono<Long> take(List<JobId> ids, String owner, Duration lease) {
        return bindLease(sql("UPDATE {jobs} SET owner = :owner, lease_until = " + leaseEnd() + ", lease_token = lease_token + 1"
                + " WHERE id IN (:ids) AND " + CLAIMABLE.formatted(dbNow())), lease)
                .bind("owner", owner).bind("ids", ids.stream().map(JobId::value).toList())
                .fetch().rowsUpdated();
    }

    private Mono<ClaimedJob> claimed(JobId id) {
        return findQuery(id)
                .zipWith(executionsQuery(id).collectList())
                .zipWith(sql("SELECT lease_token FROM {jobs} WHERE id = :id").bind("id", id.value())
                        .map((row, meta) -> row.get("lease_token", Long.class)).one())
                .map(t -> new ClaimedJob(t.getT1().getT1(), t.getT1().getT2(), new JobLease(id, t.getT1().getT1().owner(), t.getT2())));
    }

    @Override
    public Flux<JobId> renewLeases(String owner, Collection<JobId> jobs, Duration lease) {
        requireOwner(owner);
        requireLease(lease);
        if (jobs.isEmpty()) {
            return Flux.empty();
        }
        // QUEUED too: a claimed job stays QUEUED until its job.started is appended, and is owned meanwhile.
        // One statement, no explicit lock first: a renewal must not queue behind the job's own writes
        // any longer than one row lock takes.
        String renew = "UPDATE {jobs} SET lease_until = " + leaseEnd()
                + " WHERE owner = :owner AND id IN (:ids) AND status IN ('QUEUED', 'RUNNING')";
        List<UUID> ids = jobs.stream().map(JobId::value).toList();
        if (dialect.supportsReturning()) {
            return onDb(bindLease(sql(leaseDb, renew + " RETURNING id"), lease).bind("owner", owner).bind("ids", ids)
                    .map((row, meta) -> new JobId(row.get("id", UUID.class))).all())
                    .retryWhen(retry);
        }
        // H2 has no RETURNING: the rows this transaction updated are the ones it now holds.
        Mono<List<JobId>> work = bindLease(sql(renew), lease).bind("owner", owner).bind("ids", ids).fetch().rowsUpdated()
                .then(sql("SELECT id FROM {jobs} WHERE owner = :owner AND id IN (:ids) AND status IN ('QUEUED', 'RUNNING')")
                        .bind("owner", owner).bind("ids", ids)
                        .map((row, meta) -> new JobId(row.get("id", UUID.class))).all().collectList());
        return onDb(tx.transactional(work)).retryWhen(retry).flatMapIterable(renewed -> renewed);
    }

    @Override
    public Mono<Void> release(JobLease lease) {
        Objects.requireNonNull(lease, "lease");
        return onDb(sql("UPDATE {jobs} SET owner = NULL, lease_until = NULL WHERE id = :id AND owner = :owner AND lease_token = :token")
                .bind("id", lease.jobId().value()).bind("owner", lease.owner()).bind("token", lease.token())
                .fetch().rowsUpdated())
                .retryWhen(retry)
                .flatMap(n -> n > 0 ? publish(new Signal.JobAvailable()) : Mono.empty());
    }

    @Override
    public Flux<JobId> releaseOwned(String owner, Set<JobId> kept) {
        requireOwner(owner);
        Mono<List<JobId>> work = lockOwnedExcept(owner, kept)
                .flatMap(ids -> ids.isEmpty() ? Mono.just(List.<JobId>of())
                        : sql("UPDATE {jobs} SET owner = NULL, lease_until = NULL WHERE id IN (:ids)")
                                .bind("ids", ids)
                                .fetch().rowsUpdated()
                                .thenReturn(ids.stream().map(JobId::new).toList()));
        return onDb(tx.transactional(work)).retryWhen(retry)
                .flatMapMany(ids -> ids.isEmpty() ? Flux.<JobId>empty() : publish(new Signal.JobAvailable()).thenMany(Flux.fromIterable(ids)));
    }

    /** Locks the unfinished jobs held by {@code owner} except {@code kept}, in id order; emits their ids. */
    private Mono<List<UUID>> lockOwnedExcept(String owner, Collection<JobId> kept) {
        GenericExecuteSpec spec = sql("SELECT id FROM {jobs} WHERE owner = :owner AND status IN ('QUEUED', 'RUNNING')"
                + (kept.isEmpty() ? "" : " AND id NOT IN (:kept)") + " ORDER BY id FOR UPDATE")
                .bind("owner", owner);
        if (!kept.isEmpty()) {
            spec = spec.bind("kept", kept.stream().map(JobId::value).toList());
        }
        return spec.map((row, meta) -> row.get("id", UUID.class)).all().collectList();
    }

    /** The database's now, or the lease clock's in tests (bind it with {@link #bindNow}). */
    private String dbNow() {
        return leaseClock == null ? "CURRENT_TIMESTAMP" : "CAST(:leaseNow AS TIMESTAMP WITH TIME ZONE)";
    }

    /** The end of a lease that starts now (bind it with {@link #bindLease}). */
    private String leaseEnd() {
        return dialect.plusMillis(dbNow(), ":leaseMs");
    }

    private GenericExecuteSpec bindNow(GenericExecuteSpec spec) {
        return leaseClock == null ? spec : spec.bind("leaseNow", ts(micros(leaseClock.instant())));
    }

    private GenericExecuteSpec bindNow(GenericExecuteSpec spec, Set<JobId> excluded) {
        GenericExecuteSpec bound = bindNow(spec);
        return excluded.isEmpty() ? bound : bound.bind("excluded", excluded.stream().map(JobId::value).toList());
    }

    private GenericExecuteSpec bindLease(GenericExecuteSpec spec, Duration lease) {
        return bindNow(spec).bind("leaseMs", lease.toMillis());
    }

    private static void requireOwner(String owner) {
        if (owner == null || owner.isBlank() || owner.length() > 255) {
            throw new IllegalArgumentException("owner must be 1-255 characters, but was '" + owner + "'");
        }
    }

    private static void requireLease(Duration lease) {
        if (lease == null || lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("lease must be positive, but was " + lease);
        }
    }

    // ------------------------------------------------------------------------------------ locking

    private record LockedJob(JobId id, JobStatus status, long eventSeq, int cells, String owner, long leaseToken) {
    }

    /**
     * One {@code execution.finished} append waiting for the group commit; {@code owner} null = unfenced,
     * {@code token} null = fenced by owner only.
     */

    private Mono<LockedJob> lock(JobId id) {
        return sql("SELECT id, status, event_seq, cells, owner, lease_token FROM {jobs} WHERE id = :id FOR UPDATE")
                .bind("id", id.value())
                .map((row, meta) -> mapLocked(row))
                .one()
                .switchIfEmpty(Mono.error(() -> new IllegalArgumentException("job must exist, but " + id + " does not")));
    }

    /** Locks the jobs rows in id order (callers pass a sorted set), so that two batches never deadlock. */
    private Mono<Map<UUID, LockedJob>> lockAll(Set<UUID> ids) {
        return sql("SELECT id, status, event_seq, cells, owner, lease_token FROM {jobs} WHERE id IN (:ids) ORDER BY id FOR UPDATE")
                .bind("ids", List.copyOf(ids))
                .map((row, meta) -> mapLocked(row))
                .all()
                .collectMap(j -> j.id().value(), j -> j);
    }

    // ------------------------------------------------------------------------------------ row mappers

    private static LockedJob mapLocked(Row row) {
        return new LockedJob(new JobId(row.get("id", UUID.class)), JobStatus.valueOf(row.get("status", String.class)),
                row.get("event_seq", Long.class), row.get("cells", Integer.class), row.get("owner", String.class),
                row.get("lease_token", Long.class));
    }

    /** Row mapper of {@code jobs} (with its per-status execution counts). */
    private JobRecord mapJob(Row row, io.r2dbc.spi.RowMetadata meta) {
        int cells = row.get("cells", Integer.class);
        return new JobRecord(
                new JobId(row.get("id", UUID.class)),
                row.get("name", String.class),
                JobStatus.valueOf(row.get("status", String.class)),
                json.readSpec(row.get("spec", String.class)),
                row.get("idempotency_key", String.class),
                instant(row, "created_at"),
                instant(row, "started_at"),
                instant(row, "finished_at"),
                countsOf(cells, count(row, "n_succeeded"), count(row, "n_failed"), count(row, "n_timed_out"), count(row, "n_cancelled")),
                row.get("current_question", Integer.class),
                row.get("owner", String.class),
                Boolean.TRUE.equals(row.get("cancel_requested", Boolean.class)),
                row.get("retry_of", UUID.class) == null ? null : new JobId(row.get("retry_of", UUID.class)));
    }

    /** Row mapper of {@code executions}. */
    private ExecutionResult mapExecution(Row row, io.r2dbc.spi.RowMetadata meta) {
        String code = row.get("error_code", String.class);
        return new ExecutionResult(
                new Cell(row.get("question_id", String.class),
                        new EndpointId(row.get("model_id", String.class), row.get("region", String.class)),
                        row.get("sample", Integer.class)),
                row.get("provider_id", String.class),
                ExecutionStatus.valueOf(row.get("status", String.class)),
                row.get("attempts", Integer.class),
                instant(row, "started_at"),
                instant(row, "completed_at"),
                row.get("latency_ms", Long.class),
                JobJson.withProvenance(json.readOutput(row.get("output_json", String.class)),
                        json.readProvenance(row.get("provenance_json", String.class))),
                code == null ? null : new ExecutionError(code, row.get("error_message", String.class)),
                json.readReceipt(row.get("receipt_json", String.class)),
                row.get("carried_from", UUID.class) == null ? null : new JobId(row.get("carried_from", UUID.class)));
    }

    /** Row mapper of {@code job_events}. */
    private StoredEvent mapEvent(Row row, io.r2dbc.spi.RowMetadata meta) {
        return json.readEvent(new JobId(row.get("job_id", UUID.class)), row.get("seq", Long.class),
                instant(row, "created_at"), row.get("data", String.class));
    }

    private static int count(Row row, String column) {
        Number n = row.get(column, Number.class);
        return n == null ? 0 : n.intValue();
    }

    private static Instant instant(Row row, String column) {
        OffsetDateTime t = row.get(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    // ------------------------------------------------------------------------------------ plumbing

    private GenericExecuteSpec sql(String sql) {
        return sql(db, sql);
    }

    private GenericExecuteSpec sql(DatabaseClient client, String sql) {
        return client.sql(sql.replace("{jobs}", prefix + "jobs")
                .replace("{executions}", prefix + "executions")
                .replace("{job_events}", prefix + "job_events")
                .replace("{runner_keys}", prefix + "runner_keys"));
    }

    private static <V> GenericExecuteSpec nullable(GenericExecuteSpec spec, String name, V value, Class<V> type) {
        return value == null ? spec.bindNull(name, type) : spec.bind(name, value);
    }

    /**
     * Runs {@code work} on the store's scheduler — its subscription, its requests (which pull H2's
     * rows) and its cancel — waiting at most {@code timeout} for it. A cancel otherwise runs where it
     * is issued (the engine stopping a job on a parallel worker, a client leaving on an event loop, a
     * timeout), and cancelling a transaction rolls it back and releases its connection there: on H2
     * that waits for the session's lock, held by the statement still running on another thread.
     */
    private <T> Mono<T> onDb(Mono<T> work) {
        return onDb(work, timeout);
    }

    private <T> Mono<T> onDb(Mono<T> work, Duration limit) {
        return work.subscribeOn(scheduler).cancelOn(scheduler).timeout(limit, Mono.error(() -> unavailable(limit)));
    }

    /** As {@link #onDb(Mono)}, waiting at most {@code timeout} for the first row. */
    private <T> Flux<T> onDb(Flux<T> work) {
        return work.subscribeOn(scheduler).cancelOn(scheduler)
                .timeout(Mono.delay(timeout), row -> Mono.never(), Flux.error(() -> unavailable(timeout)));
    }

    private static StoreUnavailableException unavailable(Duration limit) {
        return new StoreUnavailableException("the database did not answer within " + limit, null);
    }

    private Mono<Void> publish(Signal signal) {
        if (signals == null) {
            return Mono.empty();
        }
        // A signal only says "look again": losing one delays a reader, it must never fail a write.
        return Mono.defer(() -> signals.publish(signal)).onErrorResume(e -> Mono.empty());
    }

    /**
     * Publishes {@code signal} without making the write wait for it. Local subscribers get it at once
     * (handed to them on subscribe); only the {@code pg_notify} round trip to other instances runs
     * behind. Used for {@code EventsAppended}, the signal of every append: awaiting its round trip (on
     * a second pooled connection) put one more database round trip between a cell's commit and the
     * engine going on, three per question boundary, which the benchmark suite showed as a large share
     * of the gap between questions on a loaded machine. A signal is only a hint; readers re-read the log.
     */
    private void publishInBackground(Signal signal) {
        publish(signal).subscribe();
    }

    private Instant now() {
        return micros(clock.instant());
    }

    /** Both databases keep microseconds; truncating first makes what is returned equal what is read back. */
    private static Instant micros(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MICROS);
    }

    private static ExecutionResult micros(ExecutionResult r) {
        return new ExecutionResult(r.cell(), r.providerId(), r.status(), r.attempts(), micros(r.startedAt()),
                micros(r.completedAt()), r.latencyMs(), r.output(), r.error(), r.receipt(), r.carriedFrom());
    }

    private static OffsetDateTime ts(Instant t) {
        return OffsetDateTime.ofInstant(t, ZoneOffset.UTC);
    }

    /** Builds an {@link R2dbcJobStore}; only the connection factory is required. */
    public static final class Builder {

        private final ConnectionFactory connectionFactory;
        private final DatabaseClient client;
        private JobJson json = new JobJson();
        private Clock clock = Clock.systemUTC();
        private Clock leaseClock;
        private ConnectionFactory leaseConnections;
        private Duration timeout = Duration.ofSeconds(10);
        private SqlDialect dialect;
        private String schema;
        private JobSignals signals;
        private ReceiptSigner signer;
        private Scheduler scheduler;
        private int maxBatch = 64;
        private int maxBatchesInFlight = 2;
        private int retries = 5;

        private Builder(ConnectionFactory connectionFactory, DatabaseClient client) {
            this.connectionFactory = Objects.requireNonNull(connectionFactory, "connectionFactory");
            this.client = client;
        }

        public Builder json(JobJson json) {
            this.json = Objects.requireNonNull(json, "json");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * For tests that move time by hand: measure leases on {@code leaseClock} instead of the
         * database's clock. Never set it in production, where instances must agree on one clock.
         */
        public Builder leaseClock(Clock leaseClock) {
            this.leaseClock = Objects.requireNonNull(leaseClock, "leaseClock");
            return this;
        }

        /**
         * Longest wait for the database in one operation (for a query that streams rows: for its first
         * row); then the operation errors with {@link StoreUnavailableException}. Default 10 s. The
         * cancel of a queued job, which stores a row per cell, may take six such periods.
         */
        public Builder timeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, but was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** The dialect; detected from the connection factory's metadata when not set. */
        public Builder dialect(SqlDialect dialect) {
            this.dialect = dialect;
            return this;
        }

        /** The schema the tables live in (as given to {@link SchemaMigrator}), or {@code null} for the default. */
        public Builder schema(String schema) {
            this.schema = SchemaMigrator.checkSchema(schema);
            return this;
        }

        /**
         * Connections for lease renewals only (PostgreSQL): a small pool of its own, so that an instance
         * whose main pool is saturated by its jobs' writes still renews their leases in time (and does
         * not stop them for want of a connection). Defaults to the main connection factory.
         */
        public Builder leaseConnections(ConnectionFactory leaseConnections) {
            this.leaseConnections = Objects.requireNonNull(leaseConnections, "leaseConnections");
            return this;
        }

        /** Where to publish signals after commits; {@code null} for none. */
        public Builder signals(JobSignals signals) {
            this.signals = signals;
            return this;
        }

        /**
         * The runner's key: rows appended without a receipt (cells that never ran) get one signed with
         * it, and every job is sealed with it when it becomes terminal. Without one, neither happens.
         */
        public Builder signer(ReceiptSigner signer) {
            this.signer = signer;
            return this;
        }

        /** Where statements are subscribed; defaults to threads of the store's own for H2 (a blocking driver; see {@link #close}), immediate otherwise. */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * Group commit of {@code execution.finished}: at most {@code maxBatch} appends per transaction and
         * {@code maxInFlight} such transactions at once (keep it below the pool size).
         */
        public Builder batching(int maxBatch, int maxInFlight) {
            if (maxBatch < 1 || maxBatch > 1000) {
                throw new IllegalArgumentException("maxBatch must be between 1 and 1000, but was " + maxBatch);
            }
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be >= 1, but was " + maxInFlight);
            }
            this.maxBatch = maxBatch;
            this.maxBatchesInFlight = maxInFlight;
            return this;
        }

        /** Retries of a write after a transient fault (0 for none). */
        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries must be >= 0, but was " + retries);
            }
            this.retries = retries;
            return this;
        }

        public R2dbcJobStore build() {
            return new R2dbcJobStore(this);
        }
    }

    /** Batches and items written by the group commit so far (for measurements). */
    long[] batchStats() {
        return new long[] {finished.batches(), finished.items()};
    }
}
