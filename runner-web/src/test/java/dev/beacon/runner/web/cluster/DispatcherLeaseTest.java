package dev.beacon.runner.web.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.dispatch.DispatcherSettings;
import dev.beacon.runner.core.dispatch.JobDispatcher;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClient;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.persistence.LocalJobSignals;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.MutableClock;
import dev.beacon.runner.persistence.testing.TestDatabases;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The dispatcher's heartbeat and lease in virtual time, over the real {@link R2dbcJobStore} on
 * PostgreSQL: two dispatchers ({@code a}, {@code b}) share one database and one clock, each on its own
 * {@link VirtualTimeScheduler}. A paused instance is one whose scheduler does not advance while the
 * clock (the database's notion of now) and the other instance's scheduler do.
 */
class DispatcherLeaseTest {

    private static final Duration LEASE = Duration.ofSeconds(10);
    private static final Duration HEARTBEAT = Duration.ofSeconds(1);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration STEP = Duration.ofMillis(100);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final LocalJobSignals signals = new LocalJobSignals();
    private TestDatabases.Database db;
    private R2dbcJobStore store;
    private StallableStore stallable;
    private DatabaseClient sql;
    private Instance a;
    private Instance b;

    /** One runner instance: its scheduler, its provider (answers held until opened) and its dispatcher. */
    private final class Instance {
        final VirtualTimeScheduler time = VirtualTimeScheduler.create();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger cancelledCalls = new AtomicInteger();
        final AtomicReference<Sinks.One<Boolean>> gate = new AtomicReference<>(Sinks.one());
        volatile boolean open;
        final JobDispatcher dispatcher;

        Instance(String id, EndpointCatalog catalog) {
            InferenceClientFactory clients = (endpoint, provider) -> held();
            JobRunner runner = JobRunner.builder()
                    .endpoints(catalog)
                    .clients(clients)
                    .journal(stallable.journalFor(id))
                    .clock(clock)
                    .scheduler(time)
                    .runnerId(id)
                    .build();
            dispatcher = new JobDispatcher(stallable, signals, runner, new ExecutionPlanner(catalog),
                    new DispatcherSettings(id, 2, LEASE, HEARTBEAT, POLL), clock, time);
        }

        private InferenceClient held() {
            return request -> Mono.defer(() -> {
                calls.incrementAndGet();
                Mono<Boolean> wait = open ? Mono.just(true) : gate.get().asMono().doOnCancel(cancelledCalls::incrementAndGet);
                return wait.thenReturn(new InferenceOutput("answer", "stop", new TokenUsage(1, 1)));
            });
        }

        /** Answers every held call, and every later one at once. */
        void openProvider() {
            open = true;
            gate.get().tryEmitValue(true);
        }
    }

    @BeforeEach
    void setUp() {
        db = TestDatabases.postgres();
        store = R2dbcJobStore.builder(db.connectionFactory()).clock(clock).leaseClock(clock).signals(signals).build();
        stallable = new StallableStore(store);
        sql = DatabaseClient.create(db.connectionFactory());
        List<EndpointConfig> endpoints = List.of(
                new EndpointConfig(new EndpointId("model-a", "r0"), List.of(provider("p0"))),
                new EndpointConfig(new EndpointId("model-a", "r1"), List.of(provider("p1"))));
        EndpointCatalog catalog = new EndpointCatalog(endpoints);
        a = new Instance("a", catalog);
        b = new Instance("b", catalog);
    }

    private static ProviderConfig provider(String id) {
        return new ProviderConfig(id, ProviderType.SIMULATED, null, null, null, 8, Duration.ofMinutes(10), null);
    }

    @AfterEach
    void tearDown() {
        a.dispatcher.stop().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(10));
        b.dispatcher.stop().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(10));
        awaitIdle(); // statements cancelled by the stop hand their connections back first
        db.close();
    }

    @Test
    void heartbeatKeepsTheClaimFarPastTheLease() {
        JobId id = submit(2);
        a.dispatcher.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.calls.get() == 2);
        b.dispatcher.start();

        advance(LEASE.multipliedBy(6), a, b);

        JobRecord job = store.find(id).block(Duration.ofSeconds(5));
        assertThat(job.owner()).isEqualTo("a");
        assertThat(job.status()).isEqualTo(JobStatus.RUNNING);
        assertThat(leaseUntil(id)).as("renewed within the last heartbeat").isAfter(clock.instant().plus(LEASE).minus(HEARTBEAT).minus(STEP));
        assertThat(b.calls).hasValue(0);
        assertThat(b.dispatcher.runningJobs()).isEmpty();
        assertThat(starts(id)).containsExactly("a");
    }

    @Test
    void pausedOwnerLosesTheJobAfterTheLeaseAndItsLateWritesAreRefused() {
        JobId id = submit(2);
        a.dispatcher.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.calls.get() == 2);
        b.openProvider();
        b.dispatcher.start();

        // a is paused (its scheduler stands still): no heartbeat. b polls, but the lease still holds.
        advance(LEASE.minus(HEARTBEAT), b);
        assertThat(store.find(id).block(Duration.ofSeconds(5)).owner()).isEqualTo("a");
        assertThat(b.calls).hasValue(0);

        // past the lease, b takes the job within one poll and finishes it: every cell runs there.
        advance(HEARTBEAT.plus(POLL).plus(STEP), b);
        await().atMost(Duration.ofSeconds(10)).until(() -> statusOf(id) == JobStatus.SUCCEEDED);
        assertThat(starts(id)).containsExactly("a", "b");

        // a wakes up: its held calls answer, and its writes are refused (fenced); it lets the job go
        // without releasing it and without storing anything.
        long eventsBefore = count("SELECT COUNT(*) FROM job_events WHERE job_id = :id", id);
        a.openProvider();
        advance(HEARTBEAT.multipliedBy(3), a, b);
        await().atMost(Duration.ofSeconds(10)).until(() -> a.dispatcher.runningJobs().isEmpty());
        assertThat(count("SELECT COUNT(*) FROM job_events WHERE job_id = :id", id)).isEqualTo(eventsBefore);
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id", id)).isEqualTo(4);
        assertThat(count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'execution.finished'", id)).isEqualTo(4);
        assertThat(statusOf(id)).isEqualTo(JobStatus.SUCCEEDED);
    }

    @Test
    void ownerThatLosesTheLeaseWhileRunningStopsAndDoesNotReleaseTheNewOwnersJob() {
        JobId id = submit(2);
        a.dispatcher.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.calls.get() == 2);
        b.dispatcher.start();

        // a pauses past its lease; b takes the job over and holds it (its provider does not answer yet)
        advance(LEASE.plus(POLL).plus(STEP), b);
        await().atMost(Duration.ofSeconds(10)).until(() -> b.calls.get() == 2);
        assertThat(store.find(id).block(Duration.ofSeconds(5)).owner()).isEqualTo("b");

        // a wakes: the heartbeat finds the lease gone and stops the run; its answers are never stored
        a.openProvider();
        advance(HEARTBEAT.multipliedBy(2), a, b);
        await().atMost(Duration.ofSeconds(10)).until(() -> a.dispatcher.runningJobs().isEmpty());
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id", id)).isZero();
        JobRecord job = store.find(id).block(Duration.ofSeconds(5));
        assertThat(job.owner()).as("still b's: a released nothing").isEqualTo("b");
        assertThat(leaseUntil(id)).isAfter(clock.instant());

        b.openProvider();
        await().atMost(Duration.ofSeconds(10)).until(() -> statusOf(id) == JobStatus.SUCCEEDED);
        assertThat(starts(id)).containsExactly("a", "b");
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id", id)).isEqualTo(4);
    }

    @Test
    void renewalsSlowerThanSeveralHeartbeatsNeitherStopTheHeartbeatNorTheRun() {
        JobId id = submit(2);
        // Every renewal takes two and a half heartbeats (a slow database), well inside the self-fencing limit.
        stallable.renewals(renewal -> Mono.delay(HEARTBEAT.multipliedBy(5).dividedBy(2), a.time).thenMany(renewal));
        a.dispatcher.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.calls.get() == 2);

        advance(LEASE.multipliedBy(4), a);

        // A renewal about every 2.5 heartbeats for 40 s: the loop neither overflowed nor stopped.
        assertThat(stallable.renewalCount()).isGreaterThanOrEqualTo(12);
        assertThat(a.dispatcher.runningJobs()).containsExactly(id);
        assertThat(a.cancelledCalls).hasValue(0);
        assertThat(leaseUntil(id)).isAfter(clock.instant());

        stallable.renewals(renewal -> renewal);
        a.openProvider();
        await().atMost(Duration.ofSeconds(10)).until(() -> statusOf(id) == JobStatus.SUCCEEDED);
        assertThat(starts(id)).containsExactly("a");
    }

    @Test
    void ownerWhoseRenewalsHangStopsItsRunBeforeTheLeaseEndsThenResumesItAlone() {
        JobId id = submit(2);
        a.dispatcher.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.calls.get() == 2);

        // The database stops answering renewals (nothing fails, nothing comes back). Step by step until
        // the run stops, keeping the last lease the database holds for it.
        stallable.renewals(renewal -> Mono.<JobId>never().flux());
        Instant leaseEnd = leaseUntil(id);
        Duration waited = Duration.ZERO;
        while (a.cancelledCalls.get() < 2) {
            assertThat(waited).as("stopped within the lease").isLessThan(LEASE);
            leaseEnd = leaseUntil(id);
            advance(STEP, a);
            waited = waited.plus(STEP);
        }

        // Stopped by its own watchdog: in-flight calls cancelled, nothing written, and all that before
        // the lease it last held could end.
        assertThat(clock.instant()).as("stopped before its lease ended").isBefore(leaseEnd);
        await().atMost(Duration.ofSeconds(10)).until(() -> !a.dispatcher.runningJobs().contains(id) || a.calls.get() > 2);
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id", id)).isZero();

        // The database answers again: the orphaned claim is released and the job resumed here, under a
        // new fencing token, exactly once more.
        stallable.renewals(renewal -> renewal);
        a.openProvider();
        advance(POLL.multipliedBy(2), a);
        await().atMost(Duration.ofSeconds(10)).until(() -> statusOf(id) == JobStatus.SUCCEEDED);
        assertThat(starts(id)).containsExactly("a", "a");
        assertThat(a.calls).hasValue(6);
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id", id)).isEqualTo(4);
        assertThat(count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'execution.finished'", id)).isEqualTo(4);
        assertThat(count("SELECT COUNT(*) FROM job_events WHERE job_id = :id", id))
                .as("gap-free").isEqualTo(count("SELECT MAX(seq) FROM job_events WHERE job_id = :id", id));
    }

    @Test
    void jobThatNoLongerFitsTheConfigurationFailsWithEveryCellStoredAndFreesItsCapacity() {
        // Accepted when region r2 was configured; this instance serves only r0 and r1 now.
        JobSpec spec = Jobs.spec("unplannable", 2, 3);
        JobId id = store.submit(Jobs.newJob(spec, null, clock.instant())).block(Duration.ofSeconds(10)).job().id();

        a.dispatcher.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> statusOf(id) == JobStatus.FAILED);
        await().atMost(Duration.ofSeconds(5)).until(() -> a.dispatcher.runningJobs().isEmpty());
        assertThat(count("SELECT COUNT(*) FROM executions WHERE job_id = :id AND status = 'FAILED' AND error_code = 'UNPLANNABLE'", id))
                .isEqualTo(6);
        assertThat(a.calls).hasValue(0);
    }

    private JobId submit(int questions) {
        JobSpec spec = Jobs.spec("lease", questions, 2);
        return store.submit(Jobs.newJob(spec, null, clock.instant())).block(Duration.ofSeconds(10)).job().id();
    }

    /**
     * Moves the shared clock and the given instances' schedulers forward in small steps; after each
     * step, the database work it started finishes before time moves on (real I/O takes no virtual
     * time, however loaded the machine).
     */
    private void advance(Duration total, Instance... instances) {
        for (Duration done = Duration.ZERO; done.compareTo(total) < 0; done = done.plus(STEP)) {
            clock.advance(STEP);
            for (Instance instance : instances) {
                instance.time.advanceTimeBy(STEP);
            }
            awaitIdle();
        }
    }

    private void awaitIdle() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(2)).until(() -> stallable.busy() == 0);
    }

    private JobStatus statusOf(JobId id) {
        return store.find(id).map(JobRecord::status).block(Duration.ofSeconds(5));
    }

    private Instant leaseUntil(JobId id) {
        return sql.sql("SELECT lease_until FROM jobs WHERE id = :id").bind("id", id.value())
                .map((row, meta) -> row.get("lease_until", java.time.OffsetDateTime.class).toInstant())
                .one().block(Duration.ofSeconds(5));
    }

    private List<String> starts(JobId id) {
        return sql.sql("SELECT data->>'runner' AS runner FROM job_events WHERE job_id = :id AND type = 'job.started' ORDER BY seq")
                .bind("id", id.value())
                .map((row, meta) -> row.get("runner", String.class))
                .all().collectList().block(Duration.ofSeconds(5));
    }

    private long count(String query, JobId id) {
        return sql.sql(query).bind("id", id.value()).map((row, meta) -> row.get(0, Long.class)).one().block(Duration.ofSeconds(5));
    }
}
