package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.web.config.BeaconRunnerProperties;
import dev.beacon.runner.web.dashboard.DashboardRoutes;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * Serves the dashboard next to the API when the API is mounted under a non-empty
 * {@code beacon.runner.web.base-path} (at the root, Spring Boot's static resource handling serves it).
 * Declare a bean named {@code beaconDashboardRoutes} to replace or drop it.
 */
@AutoConfiguration(after = RunnerWebAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnBooleanProperty(name = "beacon.runner.web.enabled", matchIfMissing = true)
@ConditionalOnBean(BeaconRunnerProperties.class)
public final class RunnerDashboardAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "beaconDashboardRoutes")
    RouterFunction<ServerResponse> beaconDashboardRoutes(BeaconRunnerProperties properties) {
        String basePath = properties.web().basePath();
        if (basePath == null || basePath.strip().replace("/", "").isEmpty()) {
            // Nothing to add at the root: a router that matches no request.
            return request -> Mono.empty();
        }
        return DashboardRoutes.create(basePath);
    }
}
