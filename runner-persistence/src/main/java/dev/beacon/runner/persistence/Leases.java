package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobSignals.Signal;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Claiming jobs and holding them: leases measured on the database's clock ({@code CURRENT_TIMESTAMP}),
 * never an instance's, so instances whose clocks disagree still agree on when a lease ends. How a
 * claim and a renewal are done depends on what the database's SQL allows: one subclass per dialect
 * ({@link #of}); releasing is the same everywhere.
 */
abstract sealed class Leases permits Leases.Postgres, Leases.H2 {

    /** The claimable condition; {@code %s} is the database's now ({@link #dbNow()}). */
    private static final String CLAIMABLE =
            "status IN ('QUEUED', 'RUNNING') AND (owner IS NULL OR lease_until IS NULL OR lease_until < %s)";

    final StoreDatabase db;
    private final JobReads reads;
    private final SqlDialect dialect;
    /** Tests only: measures leases on this clock instead of the database's; {@code null} in production. */
    private final @Nullable Clock leaseClock;

    private Leases(StoreDatabase db, JobReads reads, SqlDialect dialect, @Nullable Clock leaseClock) {
        this.db = db;
        this.reads = reads;
        this.dialect = dialect;
        this.leaseClock = leaseClock;
    }

    /** The leases of {@code dialect}'s database. */
    static Leases of(SqlDialect dialect, StoreDatabase db, JobReads reads, @Nullable Clock leaseClock) {
        return switch (dialect) {
            case POSTGRESQL -> new Postgres(db, reads, leaseClock);
            case H2 -> new H2(db, reads, leaseClock);
        };
    }

    /**
     * Claims up to {@code max} of the oldest claimable jobs (never one of {@code excluded}) for
     * {@code owner}, each raising its fencing token; emits them with their rows so far and their lease.
     * Retried on transient faults; errors with the store's error.
     */
    final Flux<ClaimedJob> claim(String owner, Duration lease, int max, Set<JobId> excluded) {
        requireOwner(owner);
        requireLease(lease);
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, but was " + max);
        }
        Objects.requireNonNull(excluded, "excluded");
        return claimChecked(owner, lease, max, excluded);
    }

    abstract Flux<ClaimedJob> claimChecked(String owner, Duration lease, int max, Set<JobId> excluded);

    /**
     * Extends the leases of those of {@code jobs} that {@code owner} still holds; emits those. The rows
     * are locked in id order, as every statement that locks several jobs rows does (the group commit
     * too): locking them in the order a scan finds them deadlocked with the group commit under load.
     * No lock is taken before the renewal's own: it must not queue behind the jobs' writes any longer
     * than their row locks take. Retried on transient faults.
     */
    final Flux<JobId> renew(String owner, Collection<JobId> jobs, Duration lease) {
        requireOwner(owner);
        requireLease(lease);
        if (jobs.isEmpty()) {
            return Flux.empty();
        }
        return renewChecked(owner, jobs.stream().map(JobId::value).toList(), lease);
    }

    abstract Flux<JobId> renewChecked(String owner, List<UUID> ids, Duration lease);

    /**
     * Selects and locks, in id order, those of {@code :ids} that {@code :owner} holds. QUEUED too: a
     * claimed job stays QUEUED until its {@code job.started} is appended, and is owned meanwhile.
     */
    static final String LOCK_RENEWABLE =
            "SELECT id FROM {jobs} WHERE owner = :owner AND id IN (:ids) AND status IN ('QUEUED', 'RUNNING') ORDER BY id FOR UPDATE";

    /** Gives the job up if {@code lease} still holds it; publishes {@code JobAvailable} if it did. */
    final Mono<Void> release(JobLease lease) {
        Objects.requireNonNull(lease, "lease");
        return db.run(db.sql("UPDATE {jobs} SET owner = NULL, lease_until = NULL WHERE id = :id AND owner = :owner AND lease_token = :token")
                .bind("id", lease.jobId().value()).bind("owner", lease.owner()).bind("token", lease.token())
                .fetch().rowsUpdated())
                .retryWhen(db.retry())
                .flatMap(n -> n > 0 ? db.publish(new Signal.JobAvailable()) : Mono.empty());
    }

    /** Gives up every unfinished job {@code owner} holds except {@code kept}; emits those given up. */
    final Flux<JobId> releaseOwned(String owner, Set<JobId> kept) {
        requireOwner(owner);
        Mono<List<JobId>> work = lockOwnedExcept(owner, kept)
                .flatMap(ids -> ids.isEmpty() ? Mono.just(List.<JobId>of())
                        : db.sql("UPDATE {jobs} SET owner = NULL, lease_until = NULL WHERE id IN (:ids)")
                                .bind("ids", ids)
                                .fetch().rowsUpdated()
                                .thenReturn(ids.stream().map(JobId::new).toList()));
        return db.run(db.transactional(work)).retryWhen(db.retry())
                .flatMapMany(ids -> ids.isEmpty() ? Flux.<JobId>empty()
                        : db.publish(new Signal.JobAvailable()).thenMany(Flux.fromIterable(ids)));
    }

    /** Locks the unfinished jobs held by {@code owner} except {@code kept}, in id order; emits their ids. */
    private Mono<List<UUID>> lockOwnedExcept(String owner, Collection<JobId> kept) {
        GenericExecuteSpec spec = db.sql("SELECT id FROM {jobs} WHERE owner = :owner AND status IN ('QUEUED', 'RUNNING')"
                + (kept.isEmpty() ? "" : " AND id NOT IN (:kept)") + " ORDER BY id FOR UPDATE")
                .bind("owner", owner);
        if (!kept.isEmpty()) {
            spec = spec.bind("kept", kept.stream().map(JobId::value).toList());
        }
        return spec.map((row, meta) -> row.get("id", UUID.class)).all().collectList();
    }

    /**
     * The oldest claimable jobs: no owner, or an expired lease, whatever the status (a claimed job
     * stays {@code QUEUED} until the engine appends {@code job.started}); never one of {@code excluded}.
     */
    final GenericExecuteSpec claimable(Set<JobId> excluded, String tail) {
        GenericExecuteSpec spec = bindNow(db.sql("SELECT id FROM {jobs} WHERE " + CLAIMABLE.formatted(dbNow())
                + (excluded.isEmpty() ? "" : " AND id NOT IN (:excluded)") + " ORDER BY created_at, id " + tail));
        return excluded.isEmpty() ? spec : spec.bind("excluded", excluded.stream().map(JobId::value).toList());
    }

    /** Takes those of {@code ids} still claimable for {@code owner} (compare-and-set), raising their fencing tokens. */
    final Mono<Long> take(List<JobId> ids, String owner, Duration lease) {
        return bindLease(db.sql("UPDATE {jobs} SET owner = :owner, lease_until = " + leaseEnd() + ", lease_token = lease_token + 1"
                + " WHERE id IN (:ids) AND " + CLAIMABLE.formatted(dbNow())), lease)
                .bind("owner", owner).bind("ids", ids.stream().map(JobId::value).toList())
                .fetch().rowsUpdated();
    }

    /** A job just taken, with its rows so far and the lease it is held under. */
    final Mono<ClaimedJob> claimed(JobId id) {
        return reads.selectJob(id)
                .zipWith(reads.selectExecutions(id).collectList())
                .zipWith(db.sql("SELECT lease_token FROM {jobs} WHERE id = :id").bind("id", id.value())
                        .map((row, meta) -> row.get("lease_token", Long.class)).one())
                // The row was just taken: its owner is the claimer.
                .map(t -> new ClaimedJob(t.getT1().getT1(), t.getT1().getT2(),
                        new JobLease(id, Objects.requireNonNull(t.getT1().getT1().owner(), "owner"), t.getT2())));
    }

    /** The database's now, or the lease clock's in tests (bind it with {@link #bindNow}). */
    private String dbNow() {
        return leaseClock == null ? "CURRENT_TIMESTAMP" : "CAST(:leaseNow AS TIMESTAMP WITH TIME ZONE)";
    }

    /** The end of a lease that starts now (bind it with {@link #bindLease}). */
    final String leaseEnd() {
        return dialect.plusMillis(dbNow(), ":leaseMs");
    }

    private GenericExecuteSpec bindNow(GenericExecuteSpec spec) {
        return leaseClock == null ? spec : spec.bind("leaseNow", SqlValues.ts(SqlValues.micros(leaseClock.instant())));
    }

    final GenericExecuteSpec bindLease(GenericExecuteSpec spec, Duration lease) {
        return bindNow(spec).bind("leaseMs", lease.toMillis());
    }

    static void requireOwner(String owner) {
        if (owner == null || owner.isBlank() || owner.length() > 255) {
            throw new IllegalArgumentException("owner must be 1-255 characters, but was '" + owner + "'");
        }
    }

    private static void requireLease(Duration lease) {
        if (lease == null || lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("lease must be positive, but was " + lease);
        }
    }

    /**
     * PostgreSQL: one transaction locks up to {@code max} claimable rows ({@code FOR UPDATE SKIP
     * LOCKED}, so concurrent claimers still never get the same job), takes them in one {@code UPDATE}
     * and reads them back. Claiming one job per transaction made a burst of submissions wait for the
     * dispatcher: each claim queued for a pooled connection behind the writes of the jobs already
     * running, and the benchmark suite's 500 concurrent jobs were still being claimed 49 s after the
     * last one was accepted. A renewal is one statement on the lease connections: it locks its rows
     * in id order in a subquery and names what it renewed with {@code RETURNING}.
     */
    static final class Postgres extends Leases {

        Postgres(StoreDatabase db, JobReads reads, @Nullable Clock leaseClock) {
            super(db, reads, SqlDialect.POSTGRESQL, leaseClock);
        }

        @Override
        Flux<ClaimedJob> claimChecked(String owner, Duration lease, int max, Set<JobId> excluded) {
            Mono<List<ClaimedJob>> work = db.transactional(Mono.defer(() -> claimable(excluded, "LIMIT :max FOR UPDATE SKIP LOCKED")
                    .bind("max", max)
                    .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                    .all().collectList()
                    .flatMap(ids -> ids.isEmpty() ? Mono.just(List.<ClaimedJob>of())
                            : take(ids, owner, lease).thenMany(Flux.fromIterable(ids).concatMap(this::claimed, 1)).collectList())));
            return db.run(work).retryWhen(db.retry()).flatMapIterable(claimed -> claimed);
        }

        @Override
        Flux<JobId> renewChecked(String owner, List<UUID> ids, Duration lease) {
            String renew = "UPDATE {jobs} SET lease_until = " + leaseEnd() + " WHERE id IN (" + LOCK_RENEWABLE + ") RETURNING id";
            return db.run(bindLease(db.leaseSql(renew), lease).bind("owner", owner).bind("ids", ids)
                            .map((row, meta) -> new JobId(row.get("id", UUID.class))).all())
                    .retryWhen(db.retry());
        }
    }

    /**
     * H2 applies {@code LIMIT} before {@code SKIP LOCKED} (see {@link SqlDialect#skipLockedAfterLimit}),
     * so here each job is claimed by an autocommit compare-and-set on one of a few candidates: no
     * lock outlives its statement, and on H2 a transaction must stay on its thread, or blocked
     * claimers can starve it of bounded-elastic threads while they wait for its lock. H2 has no
     * {@code RETURNING}: a renewal is a transaction that locks its rows in id order, then extends them.
     */
    static final class H2 extends Leases {

        /** Candidates read per round of an optimistic claim, and the rounds before giving up. */
        private static final int CANDIDATES = 16;
        private static final int ROUNDS = 5;

        H2(StoreDatabase db, JobReads reads, @Nullable Clock leaseClock) {
            super(db, reads, SqlDialect.H2, leaseClock);
        }

        @Override
        Flux<ClaimedJob> claimChecked(String owner, Duration lease, int max, Set<JobId> excluded) {
            return Flux.range(0, max)
                    .concatMap(i -> db.run(claimOne(owner, lease, excluded, ROUNDS).flatMap(this::claimed)).retryWhen(db.retry())
                            .map(Optional::of).defaultIfEmpty(Optional.empty()), 1)
                    .takeWhile(Optional::isPresent)
                    .map(Optional::get);
        }

        /**
         * Reads a few claimable ids, then takes the first one whose compare-and-set still matches. If
         * every candidate was taken meanwhile, looks again (at most {@code rounds} times).
         */
        private Mono<JobId> claimOne(String owner, Duration lease, Set<JobId> excluded, int rounds) {
            return Mono.defer(() -> claimable(excluded, "LIMIT " + CANDIDATES)
                    .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                    .all().collectList()
                    .flatMap(candidates -> Flux.fromIterable(candidates)
                            .concatMap(id -> take(List.of(id), owner, lease).filter(n -> n > 0).map(n -> id), 1)
                            .next()
                            .switchIfEmpty(Mono.defer(() -> candidates.isEmpty() || rounds <= 1 ? Mono.empty()
                                    : claimOne(owner, lease, excluded, rounds - 1)))));
        }

        @Override
        Flux<JobId> renewChecked(String owner, List<UUID> ids, Duration lease) {
            Mono<List<UUID>> work = db.sql(LOCK_RENEWABLE).bind("owner", owner).bind("ids", ids)
                    .map((row, meta) -> row.get("id", UUID.class)).all().collectList()
                    .flatMap(held -> held.isEmpty() ? Mono.just(held)
                            : bindLease(db.sql("UPDATE {jobs} SET lease_until = " + leaseEnd() + " WHERE id IN (:held)"), lease)
                                    .bind("held", held).fetch().rowsUpdated().thenReturn(held));
            return db.run(db.transactional(work)).retryWhen(db.retry()).flatMapIterable(held -> held).map(JobId::new);
        }
    }
}
