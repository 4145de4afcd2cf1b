package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.dispatch.JobDispatcher;
import dev.beacon.runner.core.engine.EndpointStatus;
import dev.beacon.runner.core.engine.JobRunner;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * Health of the runner for Actuator: {@code beaconDispatcher} (is this instance taking work — part of
 * readiness in the standalone app, together with the database) and {@code beaconEndpoints} (each
 * endpoint's circuit state, calls in flight and last error — informative, always UP, since a remote
 * endpoint being down does not make this instance unfit to serve).
 */
@AutoConfiguration(after = RunnerServiceAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
public final class RunnerHealthAutoConfiguration {

    @Bean
    @ConditionalOnBean(JobDispatcher.class)
    @ConditionalOnMissingBean(name = "beaconDispatcherHealthIndicator")
    HealthIndicator beaconDispatcherHealthIndicator(JobDispatcher dispatcher) {
        return () -> {
            Health.Builder health = dispatcher.isRunning() ? Health.up() : Health.down();
            return health.withDetail("instanceId", dispatcher.settings().instanceId())
                    .withDetail("capacity", dispatcher.settings().capacity())
                    .withDetail("runningJobs", dispatcher.runningJobs().size())
                    .build();
        };
    }

    @Bean
    @ConditionalOnBean(JobRunner.class)
    @ConditionalOnMissingBean(name = "beaconEndpointsHealthIndicator")
    HealthIndicator beaconEndpointsHealthIndicator(JobRunner runner) {
        return () -> {
            Map<String, Object> details = new LinkedHashMap<>();
            for (EndpointStatus endpoint : runner.endpointStatuses()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("circuit", endpoint.circuitState());
                e.put("inFlight", endpoint.inFlight());
                endpoint.providers().stream().filter(p -> p.lastError() != null).reduce((a, b) -> b)
                        .ifPresent(p -> e.put("lastError", p.lastError().code() + ": " + p.lastError().message()));
                details.put(endpoint.id().toString(), e);
            }
            return Health.up().withDetails(details).build();
        };
    }
}
