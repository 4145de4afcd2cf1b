package dev.beacon.runner.persistence;

import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.StoreUnavailableException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.RetryBackoffSpec;

/**
 * The database as the parts of an {@link R2dbcJobStore} use it: SQL text that names its tables
 * {@code {jobs}}, {@code {executions}}, {@code {job_events}} and {@code {runner_keys}}, qualified here
 * with the store's schema; work run on the store's scheduler and given up after its timeout;
 * transactions; the retry of transient faults; the store's clock; and the signals published after commits.
 */
final class StoreDatabase {

    private final DatabaseClient db;
    /** Where lease renewals run: their own connections, so that they never queue behind the jobs' writes. */
    private final DatabaseClient leaseDb;
    private final TransactionalOperator tx;
    private final String prefix;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final RetryBackoffSpec retry;
    private final @Nullable JobSignals signals;
    private final Clock clock;

    StoreDatabase(DatabaseClient db, DatabaseClient leaseDb, TransactionalOperator tx, @Nullable String schema, Scheduler scheduler,
            Duration timeout, RetryBackoffSpec retry, @Nullable JobSignals signals, Clock clock) {
        this.db = db;
        this.leaseDb = leaseDb;
        this.tx = tx;
        this.prefix = schema == null ? "" : schema + ".";
        this.scheduler = scheduler;
        this.timeout = timeout;
        this.retry = retry;
        this.signals = signals;
        this.clock = clock;
    }

    /** A statement of {@code sql} on the main connections. */
    GenericExecuteSpec sql(String sql) {
        return db.sql(qualified(sql));
    }

    /** A statement of {@code sql} on the lease renewals' connections. */
    GenericExecuteSpec leaseSql(String sql) {
        return leaseDb.sql(qualified(sql));
    }

    private String qualified(String sql) {
        return sql.replace("{jobs}", prefix + "jobs")
                .replace("{executions}", prefix + "executions")
                .replace("{job_events}", prefix + "job_events")
                .replace("{runner_keys}", prefix + "runner_keys");
    }

    /** {@code work} as one transaction: committed when it completes, rolled back on error or cancel. */
    <T> Mono<T> transactional(Mono<T> work) {
        return tx.transactional(work);
    }

    /** The retry of a write after a transient fault (lost connection, deadlock, lock timeout). */
    RetryBackoffSpec retry() {
        return retry;
    }

    /** The longest wait for the database in one operation. */
    Duration timeout() {
        return timeout;
    }

    /**
     * Runs {@code work} on the store's scheduler — its subscription, its requests (which pull H2's
     * rows) and its cancel — waiting at most the timeout for it, then erroring with
     * {@link StoreUnavailableException}. A cancel otherwise runs where it is issued (the engine
     * stopping a job on a parallel worker, a client leaving on an event loop, a timeout), and
     * cancelling a transaction rolls it back and releases its connection there: on H2 that waits for
     * the session's lock, held by the statement still running on another thread.
     */
    <T> Mono<T> run(Mono<T> work) {
        return run(work, timeout);
    }

    /** As {@link #run(Mono)}, waiting at most {@code limit}. */
    <T> Mono<T> run(Mono<T> work, Duration limit) {
        return work.subscribeOn(scheduler).cancelOn(scheduler).timeout(limit, Mono.error(() -> unavailable(limit)));
    }

    /** As {@link #run(Mono)}, waiting at most the timeout for the first row; later rows may take longer. */
    <T> Flux<T> run(Flux<T> work) {
        return work.subscribeOn(scheduler).cancelOn(scheduler)
                .timeout(Mono.delay(timeout), row -> Mono.never(), Flux.error(() -> unavailable(timeout)));
    }

    private static StoreUnavailableException unavailable(Duration limit) {
        return new StoreUnavailableException("the database did not answer within " + limit, null);
    }

    /**
     * Publishes {@code signal}, completing when it is published; never errors. A signal only says
     * "look again": losing one delays a reader, it must never fail a write.
     */
    Mono<Void> publish(Signal signal) {
        if (signals == null) {
            return Mono.empty();
        }
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
    void publishInBackground(Signal signal) {
        publish(signal).subscribe();
    }

    /** The store's clock now, in microseconds (what the database keeps). */
    Instant now() {
        return SqlValues.micros(clock.instant());
    }
}
