package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.dispatch.JobDispatcher;
import dev.beacon.runner.core.engine.EndpointStatus;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.context.annotation.Bean;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Health of the runner for Actuator: {@code beaconDatabase} (the runner's database answers within
 * {@code beacon.runner.persistence.health-timeout}), {@code beaconDispatcher} (is this instance taking
 * work) — both part of readiness in the standalone app — and {@code beaconEndpoints} (each endpoint's
 * circuit state, calls in flight and last error — informative, always UP, since a remote endpoint being
 * down does not make this instance unfit to serve). None of them is part of liveness.
 */
@AutoConfiguration(after = RunnerServiceAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
public final class RunnerHealthAutoConfiguration {

    /**
     * The runner's database, checked with a time limit so that readiness answers promptly even when the
     * database is unreachable in the worst way (connections accepted, nothing answered).
     */
    @Bean
    @ConditionalOnBean({ConnectionFactory.class, JobStore.class})
    @ConditionalOnMissingBean(name = "beaconDatabaseHealthIndicator")
    ReactiveHealthIndicator beaconDatabaseHealthIndicator(ConnectionFactory connectionFactory, BeaconRunnerProperties properties) {
        // Checked to be positive with the other properties (beacon.runner.persistence.health-timeout).
        Duration timeout = properties.persistence().healthTimeout();
        return new DatabaseHealthIndicator(connectionFactory, timeout, Schedulers.boundedElastic());
    }

    @Bean
    @ConditionalOnBean(JobDispatcher.class)
    @ConditionalOnMissingBean(name = "beaconDispatcherHealthIndicator")
    ReactiveHealthIndicator beaconDispatcherHealthIndicator(JobDispatcher dispatcher) {
        // Reactive and computed in place: it only reads memory, and a plain HealthIndicator would be
        // run on the shared bounded-elastic pool, where readiness could queue behind others' blocking work.
        return () -> Mono.fromSupplier(() -> {
            Health.Builder health = dispatcher.isRunning() ? Health.up() : Health.down();
            return health.withDetail("instanceId", dispatcher.settings().instanceId())
                    .withDetail("capacity", dispatcher.settings().capacity())
                    .withDetail("runningJobs", dispatcher.runningJobs().size())
                    .build();
        });
    }

    @Bean
    @ConditionalOnBean(JobRunner.class)
    @ConditionalOnMissingBean(name = "beaconEndpointsHealthIndicator")
    ReactiveHealthIndicator beaconEndpointsHealthIndicator(JobRunner runner) {
        // In-memory reads, computed in place for the same reason as beaconDispatcher's.
        return () -> Mono.fromSupplier(() -> {
            Map<String, Object> details = new LinkedHashMap<>();
            for (EndpointStatus endpoint : runner.endpointStatuses()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("circuit", endpoint.circuitState());
                e.put("inFlight", endpoint.inFlight());
                // Per provider: the calls it is allowed at once now (below max-concurrency while an adaptive one backs off).
                Map<String, Object> limits = new LinkedHashMap<>();
                endpoint.providers().forEach(p -> limits.put(p.id(), p.limit() + "/" + p.maxConcurrency()));
                e.put("limits", limits);
                endpoint.providers().stream().map(EndpointStatus.Provider::lastError).filter(Objects::nonNull).reduce((a, b) -> b)
                        .ifPresent(error -> e.put("lastError", error.code() + ": " + error.message()));
                details.put(endpoint.id().toString(), e);
            }
            return Health.up().withDetails(details).build();
        });
    }
}
