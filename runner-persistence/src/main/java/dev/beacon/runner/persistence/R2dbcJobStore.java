package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.EvidenceStore;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.OwnershipLostException;
import dev.beacon.runner.core.store.StoreUnavailableException;
import dev.beacon.runner.core.store.Submission;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.connection.R2dbcTransactionManager;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

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
 *
 * <p>This class only wires its parts and answers the ports (its length is the builder and one short
 * delegating method per port operation); each part has one reason to change:
 * <table>
 * <caption>The parts of the store</caption>
 * <tr><th>part</th><th>what it does</th></tr>
 * <tr><td>{@link StoreDatabase}</td><td>schema-qualified SQL, scheduler, timeout, retry, transactions, signals</td></tr>
 * <tr><td>{@link JobRows}, {@link JobReads}</td><td>one row mapper per table; the queries</td></tr>
 * <tr><td>{@link Submissions}</td><td>new jobs and retries of finished ones, idempotent per key</td></tr>
 * <tr><td>{@link JournalWriter}</td><td>fenced appends and the group commit, over {@link JournalStatements},
 *     {@link FinishedCellsStatement}, {@link BookkeepingStatement} and {@link LockingAppends}</td></tr>
 * <tr><td>{@link Cancellation}</td><td>cancel requests, and the cancel of a queued job</td></tr>
 * <tr><td>{@link Leases}</td><td>claiming and leases, one strategy per dialect</td></tr>
 * <tr><td>{@link RunnerKeys}</td><td>the public keys of the runner</td></tr>
 * </table>
 */
public final class R2dbcJobStore implements JobStore, EvidenceStore, AutoCloseable {

    private final SqlDialect dialect;
    /** The H2 threads this store made for itself, disposed by {@link #close()}; {@code null} otherwise. */
    private final @Nullable Scheduler ownScheduler;
    private final JobReads reads;
    private final Submissions submissions;
    private final JournalWriter writer;
    private final Cancellation cancellation;
    private final Leases leases;
    private final RunnerKeys keys;

    private R2dbcJobStore(Builder b) {
        DatabaseClient client = b.client != null ? b.client : DatabaseClient.create(b.connectionFactory);
        this.dialect = b.dialect != null ? b.dialect : SqlDialect.of(b.connectionFactory);
        // r2dbc-h2 runs statements on the calling thread and waits for locks there: give it threads
        // that may block, so that no event loop (and no other transaction's thread) is held up; and
        // threads of its own, so that a lock wait never holds up a host's (or Spring's) bounded-elastic work.
        this.ownScheduler = b.scheduler == null && dialect == SqlDialect.H2
                ? Schedulers.newBoundedElastic(4 * Runtime.getRuntime().availableProcessors(), 100_000, "beacon-h2", 60, true)
                : null;
        Scheduler scheduler = b.scheduler != null ? b.scheduler : ownScheduler != null ? ownScheduler : Schedulers.immediate();
        var db = new StoreDatabase(client, b.leaseConnections != null ? DatabaseClient.create(b.leaseConnections) : client,
                TransactionalOperator.create(new R2dbcTransactionManager(b.connectionFactory)), b.schema, scheduler, b.timeout,
                DatabaseFaults.transientRetry(b.retries, Duration.ofMillis(20)), b.signals, b.clock);
        var rows = new JobRows(b.json);
        this.reads = new JobReads(db, rows, b.json);
        var statements = new JournalStatements(db, dialect, b.json, reads, b.signer == null ? null : new JobSealer(b.signer));
        this.submissions = new Submissions(db, dialect, b.json, reads, statements);
        this.writer = new JournalWriter(db, dialect, b.json, statements, new LockingAppends(db, statements, reads, rows),
                b.maxBatch, b.maxBatchesInFlight);
        this.cancellation = new Cancellation(db, b.json, reads, statements);
        this.leases = Leases.of(dialect, db, reads, b.leaseClock);
        this.keys = new RunnerKeys(db);
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

    // ------------------------------------------------------------------------------------ jobs

    @Override
    public Mono<Submission> submit(NewJob job) {
        return submissions.submit(job);
    }

    @Override
    public Mono<Submission> retry(NewJob job, JobId source, Set<ExecutionStatus> rerun) {
        return submissions.retry(job, source, rerun);
    }

    @Override
    public Mono<JobRecord> find(JobId id) {
        return reads.find(id);
    }

    @Override
    public Flux<JobRecord> list(JobQuery query) {
        return reads.list(query);
    }

    @Override
    public Flux<JobId> retriesOf(JobId source) {
        return reads.retriesOf(source);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Read one question at a time (a page is one question's rows, sorted in memory), so that an
     * export of any size holds one page at a time and a subscriber that cancels stops the reading.
     */
    @Override
    public Flux<ExecutionResult> orderedExecutions(JobId id) {
        return reads.orderedExecutions(id);
    }

    @Override
    public Flux<ExecutionResult> executions(JobId jobId) {
        return reads.executions(jobId);
    }

    @Override
    public Flux<StoredEvent> events(JobId id, long afterSeq) {
        return reads.events(id, afterSeq);
    }

    // ------------------------------------------------------------------------------------ evidence

    /** Inserts the key unless its id is recorded already (then its first {@code created_at} stays). */
    @Override
    public Mono<Void> registerKey(RunnerKey key) {
        return keys.register(key);
    }

    @Override
    public Flux<RunnerKey> keys() {
        return keys.all();
    }

    @Override
    public Mono<JobEvidence> evidence(JobId id) {
        return reads.evidence(id);
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
        return writer.append(jobId, event, null, null);
    }

    /** As {@link #append}, for each event in order; {@code execution.finished} events share group-commit batches. */
    @Override
    public Mono<List<Optional<StoredEvent>>> appendAll(JobId jobId, List<JobEvent> events) {
        return writer.appendAll(jobId, events, null, null);
    }

    /**
     * The journal of one runner instance: the same appends as {@link #append(JobId, JobEvent)}, but
     * fenced: while the job is not terminal, an append errors with {@link OwnershipLostException} (and
     * stores nothing) unless {@code owner} still holds the job, as set by {@link #claimNext} — and, if
     * the append's Reactor context carries the {@link JobLease} of the job, still under that lease's
     * fencing token.
     */
    public JobJournal journalFor(String owner) {
        Leases.requireOwner(owner);
        return new JobJournal() {
            @Override
            public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
                return Mono.deferContextual(ctx -> writer.append(jobId, event, owner,
                        JobLease.of(ctx, jobId).map(JobLease::token).orElse(null)));
            }

            @Override
            public Mono<List<Optional<StoredEvent>>> appendAll(JobId jobId, List<JobEvent> events) {
                return Mono.deferContextual(ctx -> writer.appendAll(jobId, events, owner,
                        JobLease.of(ctx, jobId).map(JobLease::token).orElse(null)));
            }

            @Override
            public Flux<ExecutionResult> executions(JobId jobId) {
                return reads.executions(jobId);
            }
        };
    }

    // ------------------------------------------------------------------------------------ cancel

    @Override
    public Mono<CancelOutcome> requestCancel(JobId id) {
        return cancellation.requestCancel(id);
    }

    @Override
    public Flux<JobId> cancelRequested(Collection<JobId> jobs) {
        return reads.cancelRequested(jobs);
    }

    // ------------------------------------------------------------------------------------ claiming

    @Override
    public Mono<ClaimedJob> claimNext(String owner, Duration lease) {
        return leases.claim(owner, lease, 1, Set.of()).next();
    }

    /** {@inheritDoc} How depends on the dialect: see {@link Leases.Postgres} and {@link Leases.H2}. */
    @Override
    public Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded) {
        return leases.claim(owner, lease, max, excluded);
    }

    @Override
    public Flux<JobId> renewLeases(String owner, Collection<JobId> jobs, Duration lease) {
        return leases.renew(owner, jobs, lease);
    }

    @Override
    public Mono<Void> release(JobLease lease) {
        return leases.release(lease);
    }

    @Override
    public Flux<JobId> releaseOwned(String owner, Set<JobId> kept) {
        return leases.releaseOwned(owner, kept);
    }

    /** Builds an {@link R2dbcJobStore}; only the connection factory is required. */
    public static final class Builder {

        private final ConnectionFactory connectionFactory;
        private final @Nullable DatabaseClient client;
        private JobJson json = new JobJson();
        private Clock clock = Clock.systemUTC();
        private @Nullable Clock leaseClock;
        private @Nullable ConnectionFactory leaseConnections;
        private Duration timeout = Duration.ofSeconds(10);
        private @Nullable SqlDialect dialect;
        private @Nullable String schema;
        private @Nullable JobSignals signals;
        private @Nullable ReceiptSigner signer;
        private @Nullable Scheduler scheduler;
        private int maxBatch = 256;
        private int maxBatchesInFlight = 4;
        private int retries = 5;

        private Builder(ConnectionFactory connectionFactory, @Nullable DatabaseClient client) {
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
        public Builder dialect(@Nullable SqlDialect dialect) {
            this.dialect = dialect;
            return this;
        }

        /** The schema the tables live in (as given to {@link SchemaMigrator}), or {@code null} for the default. */
        public Builder schema(@Nullable String schema) {
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
        public Builder signals(@Nullable JobSignals signals) {
            this.signals = signals;
            return this;
        }

        /**
         * The runner's key: rows appended without a receipt (cells that never ran) get one signed with
         * it, and every job is sealed with it when it becomes terminal. Without one ({@code null}), neither happens.
         */
        public Builder signer(@Nullable ReceiptSigner signer) {
            this.signer = signer;
            return this;
        }

        /** Where statements are subscribed; defaults to threads of the store's own for H2 (a blocking driver; see {@link #close}), immediate otherwise. */
        public Builder scheduler(@Nullable Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * Group commit of {@code execution.finished}: at most {@code maxBatch} appends per transaction and
         * {@code maxInFlight} such transactions at once (keep it below the pool size). Default 256 and 4:
         * with 1,000 concurrent reference jobs on PostgreSQL (two runs each), 64 and 2 left a question's
         * last result waiting a median 1.3–2.7 s for its commit and the gap between questions at p99
         * 2.3–4.2 s; 256 and 4: 0.24 s and 0.9–1.0 s, at 1,243–1,516 executions/s instead of 1,194–1,394.
         * A lone append is written at once either way (the benchmark suite's scaling scenario, README
         * "Performance").
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
        return writer.batchStats();
    }
}
