package dev.beacon.runner.persistence;

import dev.beacon.runner.core.evidence.Sha256;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A name held by one live runner process among all processes sharing a PostgreSQL database: a
 * session-level advisory lock on a dedicated connection that stays open for the life of the process.
 *
 * <p>This is what lets a restarted instance keep its name, and so resume its predecessor's jobs at
 * once instead of waiting for their leases to end, while two live instances can never hold the same
 * name: when a process dies, PostgreSQL ends its session and frees the lock; while it lives, nobody
 * else gets it. Names are scoped by the runner's schema, so two deployments in different schemas of
 * one database do not collide.
 *
 * <p>If the connection is lost (a database restart) the lock goes with it; the name is not taken
 * back automatically, so a process started during that window could pick the same name. Restart
 * instances one at a time, or configure explicit instance ids, where that matters.
 */
public final class InstanceNameLock implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InstanceNameLock.class);

    private final String name;
    private final Connection connection;

    private InstanceNameLock(String name, Connection connection) {
        this.name = name;
        this.connection = connection;
    }

    /** The name this process holds. */
    public String name() {
        return name;
    }

    /**
     * Takes the first of {@code candidates} that no live process holds, on a connection from
     * {@code dedicated} (a non-pooled factory: the connection is kept until {@link #close()}).
     * Completes empty, with the connection closed, when every candidate is held. On error or cancel the
     * connection is closed.
     *
     * @param scope the runner's schema, or {@code null} for the default one
     */
    public static Mono<InstanceNameLock> acquireFirstFree(ConnectionFactory dedicated, @Nullable String scope, List<String> candidates) {
        Objects.requireNonNull(dedicated, "dedicated");
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("candidates must not be empty");
        }
        return Mono.from(dedicated.create()).flatMap(connection -> Flux.fromIterable(candidates)
                .concatMap(candidate -> tryLock(connection, key(scope, candidate)).filter(Boolean::booleanValue).map(held -> candidate), 1)
                .next()
                .map(name -> new InstanceNameLock(name, connection))
                // Kept open while the name is held; closed if nothing could be taken.
                .switchIfEmpty(Mono.from(connection.close()).then(Mono.empty()))
                .onErrorResume(e -> Mono.from(connection.close()).onErrorResume(x -> Mono.empty()).then(Mono.error(e)))
                .doOnCancel(() -> Mono.from(connection.close()).subscribe()));
    }

    private static Mono<Boolean> tryLock(Connection connection, long key) {
        return Flux.from(connection.createStatement("SELECT pg_try_advisory_lock($1) AS held").bind("$1", key).execute())
                .flatMap(result -> result.map((row, meta) -> Boolean.TRUE.equals(row.get("held", Boolean.class))))
                .next()
                .defaultIfEmpty(Boolean.FALSE);
    }

    /** A 64-bit lock key from the scope and the name (the first 8 bytes of their SHA-256). */
    static long key(@Nullable String scope, String name) {
        return Sha256.prefixLong("beacon-runner-instance\n" + (scope == null ? "" : scope) + "\n" + name);
    }

    /** Gives the name up (closes the connection, which ends the lock). Errors are logged. */
    @Override
    public void close() {
        Mono.from(connection.close())
                .doOnError(e -> log.warn("could not close the connection holding instance name {}: {}", name, e.toString()))
                .onErrorResume(e -> Mono.empty())
                .subscribe();
    }
}
