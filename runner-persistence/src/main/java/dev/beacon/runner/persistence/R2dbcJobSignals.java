package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.JobSignals;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.retry.Retry;

/**
 * {@link JobSignals} across every instance sharing one PostgreSQL database, with {@code LISTEN} /
 * {@code NOTIFY} on channel {@value #CHANNEL}.
 *
 * <p>A published signal is delivered to local subscribers at once and sent with {@code pg_notify}
 * over the pooled connection factory; other instances receive it on their dedicated, non-pooled
 * listening connection (a pooled connection would be handed to other work and lose the LISTEN).
 * When that connection is lost it reconnects with backoff (100 ms up to 5 s, forever), LISTENs again
 * and then emits a {@link Signal.JobAvailable} locally, since signals sent meanwhile were missed.
 *
 * <p>Payloads are compact: {@code e:<jobId>:<seq>}, {@code c:<jobId>} or {@code q}, followed by
 * {@code |<origin>} so that an instance ignores the echo of its own signals.
 */
public final class R2dbcJobSignals implements JobSignals, AutoCloseable {

    /** The PostgreSQL notification channel. */
    public static final String CHANNEL = "beacon_runner_signals";

    private static final Logger log = LoggerFactory.getLogger(R2dbcJobSignals.class);
    /** Options of r2dbc-pool's URL form ({@code r2dbc:pool:…?maxSize=…}) that configure the pool, not the connection. */
    private static final java.util.Set<String> POOL_OPTIONS = java.util.Set.of("acquireRetry", "backgroundEvictionInterval",
            "initialSize", "maxSize", "minIdle", "maxAcquireTime", "maxCreateConnectionTime", "maxIdleTime", "maxLifeTime",
            "maxValidationTime", "poolName", "registerJmx", "postAllocate", "preRelease", "validationQuery", "validationDepth");

    /** Payloads in one {@code pg_notify} statement at most; more wait for the next. */
    static final int NOTIFY_BATCH = 1024;

    private final DatabaseClient notifier;
    /**
     * One {@code pg_notify} statement in flight at a time: payloads published meanwhile are sent by the
     * next, together, instead of one autocommit transaction each (a group commit publishes one signal
     * per job of its batch).
     */
    private final GroupCommit<String, Void> notifications = new GroupCommit<>(NOTIFY_BATCH, 1, this::notifyAll);
    private final ConnectionFactory listenConnections;
    private final LocalJobSignals local = new LocalJobSignals();
    private final String origin = UUID.randomUUID().toString().substring(0, 8);
    private final Sinks.One<Void> listening = Sinks.one();
    private final AtomicInteger connects = new AtomicInteger();
    private final Disposable loop;

    private R2dbcJobSignals(ConnectionFactory pool, ConnectionFactory listenConnections) {
        this.notifier = DatabaseClient.create(Objects.requireNonNull(pool, "pool"));
        this.listenConnections = Objects.requireNonNull(listenConnections, "listenConnections");
        this.loop = listenLoop().subscribe();
    }

    /**
     * Starts listening at once.
     *
     * @param pool              connections for sending {@code pg_notify}
     * @param listenConnections a non-pooled factory for the one listening connection (see {@link #dedicated})
     */
    public static R2dbcJobSignals start(ConnectionFactory pool, ConnectionFactory listenConnections) {
        return new R2dbcJobSignals(pool, listenConnections);
    }

    /**
     * The signals for the database behind {@code pool}: LISTEN/NOTIFY for PostgreSQL, in-process only
     * for H2. The listening connection comes from the driver's own factory behind {@code pool} (see
     * {@link #unpooled}), so it has every option of the pool's connections; only when that cannot be
     * found is {@code listenConnections} asked for one.
     */
    public static JobSignals forDatabase(ConnectionFactory pool, java.util.function.Supplier<ConnectionFactory> listenConnections) {
        return SqlDialect.of(pool) == SqlDialect.POSTGRESQL
                ? start(pool, unpooled(pool).orElseGet(listenConnections))
                : new LocalJobSignals();
    }

    /**
     * The PostgreSQL driver's own factory behind {@code factory}: through any pool
     * ({@code io.r2dbc.pool.ConnectionPool}), decorator or Spring Boot wrapper that exposes what it wraps
     * ({@link Wrapped}). Its connections are made exactly like the pool's — host, credentials, SSL,
     * {@code options}, {@code applicationName}, whatever the URL, Boot's {@code spring.r2dbc.properties}
     * or the host's code set — but each {@code create()} is a new connection of its own, never a pooled one.
     *
     * @return empty when no PostgreSQL driver factory is reachable (e.g. a custom factory that does not
     *         implement {@link Wrapped})
     */
    public static java.util.Optional<ConnectionFactory> unpooled(ConnectionFactory factory) {
        Object current = Objects.requireNonNull(factory, "factory");
        for (int depth = 0; depth < 16 && current != null; depth++) {
            if (current instanceof io.r2dbc.postgresql.PostgresqlConnectionFactory postgres) {
                return java.util.Optional.of(postgres);
            }
            current = current instanceof Wrapped<?> wrapped ? wrapped.unwrap() : null;
        }
        return java.util.Optional.empty();
    }

    /**
     * A non-pooled PostgreSQL factory for the database named by {@code r2dbcUrl}, with every option of
     * the URL (query options such as {@code sslMode}, {@code options}, {@code applicationName},
     * {@code currentSchema} included). A {@code r2dbc:pool:} URL is accepted: the pool and its own
     * options are dropped. {@code user} and {@code password} replace the URL's when not {@code null}.
     */
    public static ConnectionFactory dedicated(String r2dbcUrl, @Nullable String user, @Nullable String password) {
        ConnectionFactoryOptions parsed = ConnectionFactoryOptions.parse(r2dbcUrl);
        var builder = ConnectionFactoryOptions.builder().from(parsed, option -> !POOL_OPTIONS.contains(option.name()));
        if ("pool".equals(parsed.getRequiredValue(ConnectionFactoryOptions.DRIVER))) {
            // r2dbc:pool:postgresql:… → driver postgresql, the rest of the protocol (if any) stays the protocol
            String[] protocol = String.valueOf(parsed.getRequiredValue(ConnectionFactoryOptions.PROTOCOL)).split(":", 2);
            builder.option(ConnectionFactoryOptions.DRIVER, protocol[0])
                    .option(ConnectionFactoryOptions.PROTOCOL, protocol.length == 2 ? protocol[1] : "");
        }
        if (user != null) {
            builder.option(ConnectionFactoryOptions.USER, user);
        }
        if (password != null) {
            builder.option(ConnectionFactoryOptions.PASSWORD, password);
        }
        return ConnectionFactories.get(builder.build());
    }

    /** Completes once the first LISTEN is active (signals sent before may be missed). */
    public Mono<Void> listening() {
        return listening.asMono();
    }

    /**
     * Delivers {@code signal} locally, then notifies the other instances; completes once the
     * notification is committed, in the statement that sends what was published while the previous
     * one was in flight. Errors are logged and dropped (a signal is a hint); on cancel the
     * notification may or may not be sent.
     */
    @Override
    public Mono<Void> publish(Signal signal) {
        Objects.requireNonNull(signal, "signal");
        return Mono.defer(() -> {
            local.deliver(signal);
            return notifications.submit(encode(signal) + "|" + origin);
        }).onErrorResume(e -> {
            log.warn("Could not send signal {}: {}", signal, e.toString());
            return Mono.empty();
        });
    }

    /** Sends {@code payloads} in one statement, in order; an error means none or some were sent. */
    private Mono<List<GroupCommit.Outcome<Void>>> notifyAll(List<String> payloads) {
        return notifier.sql("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")
                .bind("channel", CHANNEL)
                .bind("payloads", payloads.toArray(String[]::new))
                .fetch().rowsUpdated()
                .thenReturn(Collections.nCopies(payloads.size(), GroupCommit.Outcome.<Void>empty()));
    }

    /** {@code pg_notify} statements sent so far, and payloads in them (for tests and measurements). */
    long[] notifyStats() {
        return new long[] {notifications.batches(), notifications.items()};
    }

    @Override
    public Flux<Signal> signals() {
        return local.signals();
    }

    @Override
    public Flux<Signal> signalsFor(JobId jobId) {
        return local.signalsFor(jobId);
    }

    /** Stops listening and closes the listening connection. */
    @Override
    public void close() {
        loop.dispose();
    }

    private Flux<Signal> listenLoop() {
        return Flux.usingWhen(
                        Mono.from(listenConnections.create()),
                        connection -> {
                            PostgresqlConnection pg = unwrap(connection);
                            return pg.createStatement("LISTEN " + CHANNEL).execute()
                                    .flatMap(result -> result.getRowsUpdated())
                                    .then(Mono.fromRunnable(this::listened))
                                    .thenMany(pg.getNotifications());
                        },
                        Connection::close)
                // the notification stream completes when the connection closes: connect again
                .repeat()
                .doOnError(e -> log.warn("Listening connection lost, reconnecting: {}", e.toString()))
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(5)).transientErrors(true))
                .mapNotNull(notification -> {
                    String payload = notification.getParameter();
                    int bar = payload == null ? -1 : payload.lastIndexOf('|');
                    if (payload == null || bar < 0 || payload.substring(bar + 1).equals(origin)) {
                        return null; // our own echo (already delivered locally), or not ours at all
                    }
                    return decode(payload.substring(0, bar));
                })
                .doOnNext(local::deliver);
    }

    private void listened() {
        if (connects.getAndIncrement() == 0) {
            listening.tryEmitEmpty();
        } else {
            local.deliver(new Signal.JobAvailable()); // anything sent while we were away was missed
        }
    }

    private static PostgresqlConnection unwrap(Connection connection) {
        Object c = connection;
        while (!(c instanceof PostgresqlConnection) && c instanceof Wrapped<?> w) {
            c = w.unwrap();
        }
        if (c instanceof PostgresqlConnection pg) {
            return pg;
        }
        throw new IllegalStateException("listen connection must be a PostgreSQL connection, but was " + connection.getClass());
    }

    static String encode(Signal signal) {
        if (signal instanceof Signal.EventsAppended e) {
            return "e:" + e.jobId() + ":" + e.seq();
        }
        if (signal instanceof Signal.CancelRequested c) {
            return "c:" + c.jobId();
        }
        return "q";
    }

    /** Decodes a payload; an unknown one gives {@code null} (newer instances may send more kinds). */
    static @Nullable Signal decode(String payload) {
        try {
            if (payload.equals("q")) {
                return new Signal.JobAvailable();
            }
            if (payload.startsWith("c:")) {
                return new Signal.CancelRequested(JobId.parse(payload.substring(2)));
            }
            if (payload.startsWith("e:")) {
                int colon = payload.lastIndexOf(':');
                return new Signal.EventsAppended(JobId.parse(payload.substring(2, colon)), Long.parseLong(payload.substring(colon + 1)));
            }
        } catch (RuntimeException e) {
            log.debug("Ignoring malformed signal '{}'", payload);
        }
        return null;
    }
}
