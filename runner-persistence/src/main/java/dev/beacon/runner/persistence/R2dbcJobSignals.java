package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.JobSignals;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Option;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
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

    private final DatabaseClient notifier;
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
     * The signals for the database behind {@code pool}: LISTEN/NOTIFY for PostgreSQL (listening on a
     * connection from {@code listenConnections}), in-process only for H2.
     */
    public static JobSignals forDatabase(ConnectionFactory pool, java.util.function.Supplier<ConnectionFactory> listenConnections) {
        return SqlDialect.of(pool) == SqlDialect.POSTGRESQL
                ? start(pool, listenConnections.get())
                : new LocalJobSignals();
    }

    /**
     * A non-pooled PostgreSQL factory for the database named by {@code r2dbcUrl} (a
     * {@code r2dbc:pool:} URL is accepted: the pool is dropped).
     */
    public static ConnectionFactory dedicated(String r2dbcUrl, String user, String password) {
        ConnectionFactoryOptions parsed = ConnectionFactoryOptions.parse(r2dbcUrl);
        String driver = (String) parsed.getRequiredValue(ConnectionFactoryOptions.DRIVER);
        if ("pool".equals(driver)) {
            driver = (String) parsed.getRequiredValue(ConnectionFactoryOptions.PROTOCOL);
        }
        var builder = ConnectionFactoryOptions.builder().option(ConnectionFactoryOptions.DRIVER, driver);
        for (Option<?> option : new Option<?>[] {ConnectionFactoryOptions.HOST, ConnectionFactoryOptions.PORT,
                ConnectionFactoryOptions.DATABASE, ConnectionFactoryOptions.SSL}) {
            Object value = parsed.getValue(option);
            if (value != null) {
                builder.option(Option.valueOf(option.name()), value);
            }
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
     * Delivers {@code signal} locally, then notifies the other instances. Errors are logged and
     * dropped (a signal is a hint); on cancel the notification may or may not be sent.
     */
    @Override
    public Mono<Void> publish(Signal signal) {
        Objects.requireNonNull(signal, "signal");
        return Mono.defer(() -> {
            local.deliver(signal);
            return notifier.sql("SELECT pg_notify(:channel, :payload)")
                    .bind("channel", CHANNEL)
                    .bind("payload", encode(signal) + "|" + origin)
                    .fetch().rowsUpdated()
                    .then();
        }).onErrorResume(e -> {
            log.warn("Could not send signal {}: {}", signal, e.toString());
            return Mono.empty();
        });
    }

    @Override
    public Flux<Signal> signals() {
        return local.signals();
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
                    if (bar < 0 || payload.substring(bar + 1).equals(origin)) {
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
    static Signal decode(String payload) {
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
