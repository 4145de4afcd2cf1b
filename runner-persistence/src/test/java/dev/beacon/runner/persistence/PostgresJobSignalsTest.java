package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import reactor.test.StepVerifier;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
// The instances are shared by the tests; the one that kills their LISTEN connections runs last, or
// the JobAvailable each emits after re-listening could reach another test's exact expectations.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresJobSignalsTest {

    static final Duration WAIT = Duration.ofSeconds(20);

    Database database;
    R2dbcJobSignals a;
    R2dbcJobSignals b;

    @BeforeAll
    void start() {
        database = TestDatabases.postgres();
        a = R2dbcJobSignals.start(database.connectionFactory(), database.dedicated());
        b = R2dbcJobSignals.start(database.connectionFactory(), database.dedicated());
        a.listening().block(WAIT);
        b.listening().block(WAIT);
    }

    @AfterAll
    void stop() {
        a.close();
        b.close();
        database.close();
    }

    @Test
    void aSignalPublishedByOneInstanceReachesAnotherOnceAndItsOwnSubscribersOnce() {
        JobId id = JobId.random();

        StepVerifier.create(b.signals().take(3))
                .then(() -> a.publish(new Signal.EventsAppended(id, 42)).then(a.publish(new Signal.CancelRequested(id)))
                        .then(a.publish(new Signal.JobAvailable())).subscribe())
                .expectNext(new Signal.EventsAppended(id, 42), new Signal.CancelRequested(id), new Signal.JobAvailable())
                .expectComplete()
                .verify(WAIT);

        // a's own subscribers see the local delivery, and not again the NOTIFY echo: b's signal, sent
        // after a's, reaches a over the same LISTEN connection after that echo would have, so it must be
        // the very next one.
        StepVerifier.create(a.signals().take(2))
                .then(() -> a.publish(new Signal.EventsAppended(id, 43)).then(b.publish(new Signal.EventsAppended(id, 44))).subscribe())
                .expectNext(new Signal.EventsAppended(id, 43), new Signal.EventsAppended(id, 44))
                .expectComplete()
                .verify(WAIT);
    }

    /**
     * Signals published while a notification is in flight are sent together by the next statement:
     * every one arrives, in the order published, in fewer statements than signals.
     */
    @Test
    void signalsPublishedTogetherAreSentTogetherAndArriveInOrder() {
        JobId id = JobId.random();
        List<Signal> published = new java.util.ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            published.add(new Signal.EventsAppended(id, i));
        }
        long[] before = a.notifyStats();

        StepVerifier.create(b.signals().filter(s -> s instanceof Signal.EventsAppended e && e.jobId().equals(id)).take(published.size()))
                .then(() -> reactor.core.publisher.Flux.fromIterable(published).flatMap(a::publish, published.size()).subscribe())
                .expectNextSequence(published)
                .expectComplete()
                .verify(WAIT);

        long[] after = a.notifyStats();
        assertThat(after[1] - before[1]).as("payloads sent").isEqualTo(published.size());
        assertThat(after[0] - before[0]).as("statements that sent them").isLessThan(published.size());
    }

    @Test
    void aStoreAppendOnOneInstanceWakesSubscribersOnAnother() {
        // (the submit's own seq-1 signal may still be on its way: wait for seq 2 specifically)
        R2dbcJobStore storeA = R2dbcJobStore.builder(database.connectionFactory()).signals(a).build();
        JobId id = storeA.submit(Jobs.newJob(Jobs.spec("wake", 1, 1), null, Instant.now())).block(WAIT).job().id();

        StepVerifier.create(b.signals().filter(s -> s instanceof Signal.EventsAppended e && e.jobId().equals(id) && e.seq() == 2).take(1))
                .then(() -> storeA.append(id, new JobEvent.JobStarted("runner-a")).subscribe())
                .expectNext(new Signal.EventsAppended(id, 2))
                .expectComplete()
                .verify(WAIT);
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void aListenerWhoseConnectionDiesListensAgainAndSaysSo() {
        JobId id = JobId.random();
        var killer = org.springframework.r2dbc.core.DatabaseClient.create(database.connectionFactory());

        // After re-LISTEN the instance emits JobAvailable locally: signals sent meanwhile were missed.
        StepVerifier.create(b.signals().filter(s -> s instanceof Signal.JobAvailable).take(1))
                .then(() -> killer.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                + " WHERE datname = current_database() AND query LIKE 'LISTEN%'")
                        .fetch().rowsUpdated().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(WAIT);
        StepVerifier.create(b.signals().filter(s -> s instanceof Signal.CancelRequested).take(1))
                .then(() -> a.publish(new Signal.CancelRequested(id)).subscribe())
                .expectNext(new Signal.CancelRequested(id))
                .expectComplete()
                .verify(WAIT);
    }

    @Test
    void forDatabaseChoosesListenNotifyForPostgres() {
        JobSignals chosen = R2dbcJobSignals.forDatabase(database.connectionFactory(), database::dedicated);
        try {
            assertThat(chosen).isInstanceOf(R2dbcJobSignals.class);
        } finally {
            ((R2dbcJobSignals) chosen).close();
        }
    }

    @Test
    void payloadsAreCompactAndRoundTrip() {
        JobId id = JobId.parse("0f5e0000-0000-0000-0000-000000000001");
        assertThat(R2dbcJobSignals.encode(new Signal.EventsAppended(id, 7))).isEqualTo("e:" + id + ":7");
        assertThat(R2dbcJobSignals.encode(new Signal.CancelRequested(id))).isEqualTo("c:" + id);
        assertThat(R2dbcJobSignals.encode(new Signal.JobAvailable())).isEqualTo("q");
        assertThat(R2dbcJobSignals.decode("e:" + id + ":7")).isEqualTo(new Signal.EventsAppended(id, 7));
        assertThat(R2dbcJobSignals.decode("x:nonsense")).isNull();
    }

    @Test
    void theEventsASignalCarriesStayInTheInstanceAndOutOfItsLogLines() {
        JobId id = JobId.parse("0f5e0000-0000-0000-0000-000000000001");
        StoredEvent stored = new StoredEvent(id, 7, Instant.EPOCH, new JobEvent.QuestionStarted("secret-question-id", 0, 1));
        Signal carrying = new Signal.EventsAppended(id, 7, List.of(stored));

        assertThat(R2dbcJobSignals.encode(carrying)).isEqualTo("e:" + id + ":7");
        assertThat(carrying.toString()).contains(id.toString(), "seq=7", "events=1").doesNotContain("secret-question-id");
    }
}
