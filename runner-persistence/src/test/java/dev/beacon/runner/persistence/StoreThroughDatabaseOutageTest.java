package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.StoreUnavailableException;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TcpRelay;
import dev.beacon.runner.persistence.testing.TestDatabases;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The store over a link to PostgreSQL that a test black-holes (connections open, nothing answered)
 * and restores: calls fail with {@link StoreUnavailableException} instead of hanging, and once the
 * database answers again a write whose outcome was unknown can simply be repeated.
 */
class StoreThroughDatabaseOutageTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private TestDatabases.Database database;
    private TcpRelay link;
    private ConnectionPool pool;
    private R2dbcJobStore store;

    @BeforeEach
    void connectThroughARelay() {
        database = TestDatabases.postgres();
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(database.r2dbcUrl());
        link = new TcpRelay((String) options.getRequiredValue(ConnectionFactoryOptions.HOST),
                Integer.parseInt(String.valueOf(options.getRequiredValue(ConnectionFactoryOptions.PORT))));
        var config = PostgresqlConnectionConfiguration.builder()
                .host("127.0.0.1").port(link.port())
                .database(String.valueOf(options.getRequiredValue(ConnectionFactoryOptions.DATABASE)))
                .username(database.user()).password(database.password())
                .build();
        pool = new ConnectionPool(ConnectionPoolConfiguration.builder(new PostgresqlConnectionFactory(config))
                .initialSize(1).maxSize(4).build());
        store = R2dbcJobStore.builder(pool).timeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void close() {
        // The pool first, while its connections can still say goodbye; the relay then closes what is left.
        pool.disposeLater().onErrorResume(e -> reactor.core.publisher.Mono.empty()).block(WAIT);
        link.close();
        database.close();
    }

    @Test
    void callsFailFastWhileTheDatabaseDoesNotAnswerAndWorkAgainOnceItDoes() {
        JobRecord job = store.submit(Jobs.newJob(Jobs.spec("outage", 1, 2), null, Instant.now())).block(WAIT).job();
        List<Cell> cells = CellLayout.cells(job.spec());
        JobLease lease = store.claimNext("runner-a", Duration.ofMinutes(5)).block(WAIT).lease();
        var journal = store.journalFor("runner-a");
        journal.append(job.id(), new JobEvent.JobStarted("runner-a")).contextWrite(lease::writeTo).block(WAIT);

        link.blackHole();

        StepVerifier.create(store.find(job.id())).expectError(StoreUnavailableException.class).verify(WAIT);
        StepVerifier.create(store.events(job.id(), 0)).expectError(StoreUnavailableException.class).verify(WAIT);
        // A write whose outcome is unknown: it may or may not commit once the link is back.
        StepVerifier.create(journal.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(0), Instant.now())))
                        .contextWrite(lease::writeTo))
                .expectError(StoreUnavailableException.class).verify(WAIT);
        StepVerifier.create(journal.append(job.id(), new JobEvent.QuestionStarted("q0", 0, 1)).contextWrite(lease::writeTo))
                .expectError(StoreUnavailableException.class).verify(WAIT);

        link.restore();
        await().atMost(WAIT).ignoreExceptions().until(() -> store.find(job.id()).block(WAIT) != null);

        // Repeating both writes is safe: each is stored once, whatever happened to the first try.
        journal.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(0), Instant.now())))
                .contextWrite(lease::writeTo).block(WAIT);
        StoredEvent started = journal.append(job.id(), new JobEvent.QuestionStarted("q0", 0, 1)).contextWrite(lease::writeTo).block(WAIT);
        journal.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(1), Instant.now())))
                .contextWrite(lease::writeTo).block(WAIT);

        assertThat(started).isNotNull();
        assertThat(store.executions(job.id()).collectList().block(WAIT)).extracting(r -> r.cell()).containsExactlyInAnyOrderElementsOf(cells);
        List<StoredEvent> events = store.events(job.id(), 0).collectList().block(WAIT);
        assertThat(events).extracting(StoredEvent::seq).containsExactly(seqs(events.size()));
        assertThat(events.stream().filter(e -> e.type().equals("question.started")).count()).isEqualTo(1);
        assertThat(events.stream().filter(e -> e.type().equals("execution.finished")).count()).isEqualTo(2);
    }

    private static Long[] seqs(int n) {
        Long[] seqs = new Long[n];
        for (int i = 0; i < n; i++) {
            seqs[i] = i + 1L;
        }
        return seqs;
    }
}
