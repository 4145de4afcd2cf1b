package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * r2dbc-h2 does its work on the calling thread, so the store runs it on threads that may block. That
 * holds for a cancel too: the engine stops a job on a parallel worker and so cancels a write in flight
 * there, and cancelling a transaction rolls it back. On the parallel worker that rollback waited for
 * the H2 session's lock, held by the statement still running on the store's thread (BlockHound saw
 * the park; without it the worker, one of two, stood still).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class H2CancelledWriteTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    Database database;
    /** For each rollback the store started: whether it ran on a non-blocking thread. */
    final List<Boolean> rollbacksOnNonBlockingThreads = new CopyOnWriteArrayList<>();

    @BeforeAll
    void startDatabase() {
        database = TestDatabases.h2();
    }

    @AfterAll
    void stopDatabase() {
        database.close();
    }

    @Test
    void aWriteCancelledOnAParallelWorkerIsRolledBackOffIt() {
        R2dbcJobStore store = R2dbcJobStore.builder(watchingRollbacks(database.connectionFactory())).build();
        JobId id = store.submit(Jobs.newJob(Jobs.spec("cancelled-write", 1, 1), null, Instant.parse("2026-03-01T10:00:00Z")))
                .block(WAIT).job().id();

        // Another transaction holds the job's row, so the store's append waits for it in mid-transaction.
        Connection holder = Mono.from(database.connectionFactory().create()).block(WAIT);
        Mono.from(holder.beginTransaction()).block(WAIT);
        Flux.from(holder.createStatement("SELECT id FROM jobs WHERE id = '" + id.value() + "' FOR UPDATE").execute())
                .flatMap(r -> r.map((row, meta) -> row.get(0))).blockLast(WAIT);
        try {
            Disposable append = store.append(id, new JobEvent.JobStarted("runner-a")).subscribe();
            await().atMost(WAIT).until(() -> blockedSessions(holder) > 0);

            Schedulers.parallel().schedule(append::dispose);
            await().atMost(WAIT).until(() -> !rollbacksOnNonBlockingThreads.isEmpty());
        } finally {
            Mono.from(holder.commitTransaction()).block(WAIT);
            Mono.from(holder.close()).block(WAIT);
        }

        assertThat(rollbacksOnNonBlockingThreads).containsOnly(false);
        // The cancelled append stored nothing, and the row is free again.
        assertThat(store.events(id, 0).count().block(WAIT)).isEqualTo(1);
        assertThat(store.append(id, new JobEvent.JobStarted("runner-b")).block(WAIT).seq()).isEqualTo(2);
    }

    private static long blockedSessions(Connection connection) {
        return Flux.from(connection.createStatement("SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE BLOCKER_ID IS NOT NULL")
                        .execute())
                .flatMap(r -> r.map((row, meta) -> row.get(0, Long.class)))
                .blockLast(WAIT);
    }

    /** {@code factory}, whose connections note on which kind of thread each rollback is subscribed. */
    private ConnectionFactory watchingRollbacks(ConnectionFactory factory) {
        return (ConnectionFactory) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ConnectionFactory.class},
                (proxy, method, args) -> {
                    Object result = invoke(factory, method, args);
                    return method.getName().equals("create") ? Mono.from((org.reactivestreams.Publisher<?>) result).map(this::watching) : result;
                });
    }

    private Connection watching(Object connection) {
        return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    Object result = invoke(connection, method, args);
                    if (method.getName().equals("rollbackTransaction")) {
                        // Noted when subscribed, before r2dbc-h2 does the rollback (and waits for the session) there.
                        return Mono.defer(() -> {
                            rollbacksOnNonBlockingThreads.add(Schedulers.isInNonBlockingThread());
                            return Mono.from((org.reactivestreams.Publisher<?>) result);
                        });
                    }
                    return result;
                });
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
