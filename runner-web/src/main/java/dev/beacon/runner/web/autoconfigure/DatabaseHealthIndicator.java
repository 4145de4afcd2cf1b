package dev.beacon.runner.web.autoconfigure;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;
import java.time.Duration;
import java.util.Objects;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Whether the runner's database answers, within a bound: takes a connection from the runner's
 * {@link ConnectionFactory} and validates it with the server ({@link ValidationDepth#REMOTE}). UP when
 * the server confirms in time; DOWN when it says no, fails, or stays silent past {@code timeout} —
 * including a link that accepts connections and then answers nothing, where Spring Boot's own
 * {@code r2dbc} indicator (which has no time limit) would keep the health response waiting.
 *
 * <p>The check is subscribed on {@code scheduler} (bounded-elastic), since the embedded H2 driver
 * blocks; on timeout the attempt is cancelled, which returns or closes its connection.
 */
final class DatabaseHealthIndicator implements ReactiveHealthIndicator {

    private final ConnectionFactory factory;
    private final Duration timeout;
    private final Scheduler scheduler;

    DatabaseHealthIndicator(ConnectionFactory factory, Duration timeout, Scheduler scheduler) {
        this.factory = Objects.requireNonNull(factory, "factory");
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("health timeout must be a positive duration, but was " + timeout);
        }
        this.timeout = timeout;
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    @Override
    public Mono<Health> health() {
        String database = factory.getMetadata().getName();
        Mono<Boolean> validated = Mono.usingWhen(Mono.defer(() -> Mono.from(factory.create())),
                connection -> Mono.from(connection.validate(ValidationDepth.REMOTE)),
                Connection::close, (connection, error) -> connection.close(), Connection::close);
        return validated
                .subscribeOn(scheduler)
                .map(valid -> (valid ? Health.up() : Health.down()).withDetail("database", database).build())
                .defaultIfEmpty(Health.down().withDetail("database", database).build())
                .timeout(timeout, Mono.fromSupplier(() -> Health.down()
                        .withDetail("database", database)
                        .withDetail("error", "no answer within " + timeout.toMillis() + " ms")
                        .build()))
                .onErrorResume(e -> Mono.just(Health.down(e).withDetail("database", database).build()));
    }
}
