package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.web.testing.RunnerContexts;
import org.junit.jupiter.api.Test;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;

/**
 * {@link RunnerHealthAutoConfiguration}'s class condition: the runner's health indicators exist only
 * where Boot's health contributors do, and a host without them still has the runner.
 */
class RunnerHealthAutoConfigurationClassConditionsTest {

    private static final String[] INDICATORS = {"beaconDatabaseHealthIndicator", "beaconDispatcherHealthIndicator", "beaconEndpointsHealthIndicator"};

    private final ReactiveWebApplicationContextRunner host = RunnerContexts.hostWithDatabase();

    @Test
    void withBootsHealthContributorsTheRunnersIndicatorsAreThere() {
        host.run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(RunnerHealthAutoConfiguration.class);
            for (String indicator : INDICATORS) {
                assertThat(context).hasBean(indicator);
            }
        });
    }

    @Test
    void withoutHealthIndicatorTheRunnersIndicatorsBackOffAndTheRunnerStays() {
        host.withClassLoader(new FilteredClassLoader(HealthIndicator.class)).run(context -> {
            assertThat(context).hasNotFailed()
                    .doesNotHaveBean(RunnerHealthAutoConfiguration.class)
                    .hasSingleBean(JobService.class)
                    .hasBean("beaconRunnerRoutes");
            for (String indicator : INDICATORS) {
                assertThat(context).doesNotHaveBean(indicator);
            }
        });
    }
}
