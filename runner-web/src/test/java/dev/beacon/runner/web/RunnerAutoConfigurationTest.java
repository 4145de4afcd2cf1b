package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.SubmissionLimits;
import dev.beacon.runner.web.autoconfigure.RunnerEngineAutoConfiguration;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import dev.beacon.runner.web.autoconfigure.RunnerPersistenceAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerServiceAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerWebAutoConfiguration;
import dev.beacon.runner.web.testing.RunnerContexts;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;

/** The auto-configurations: what they create, when they back off, and how bad settings fail start-up. */
class RunnerAutoConfigurationTest {

    private final ApplicationContextRunner engine = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RunnerPersistenceAutoConfiguration.class, RunnerEngineAutoConfiguration.class,
                    RunnerServiceAutoConfiguration.class, RunnerWebAutoConfiguration.class))
            .withPropertyValues(
                    "beacon.runner.endpoints[0].model=m1", "beacon.runner.endpoints[0].region=eu",
                    "beacon.runner.endpoints[0].providers[0].id=p1",
                    "beacon.runner.endpoints[1].model=m1", "beacon.runner.endpoints[1].region=us",
                    "beacon.runner.endpoints[1].providers[0].id=p2");

    @Test
    void withoutADatabaseOnlyTheEngineIsConfigured() {
        engine.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(EndpointCatalog.class).regionsOf("m1")).containsExactly("eu", "us");
            assertThat(context.getBean(SubmissionLimits.class)).isEqualTo(SubmissionLimits.DEFAULT);
            assertThat(context).doesNotHaveBean(JobService.class);
        });
    }

    @Test
    void propertyDefaultsAreTheCoreDefaults() {
        BeaconRunnerProperties properties = new Binder().bindOrCreate("beacon.runner", BeaconRunnerProperties.class);
        assertThat(properties.toJobDefaults()).isEqualTo(dev.beacon.runner.core.spec.JobDefaults.DEFAULT);
        assertThat(properties.toSubmissionLimits()).isEqualTo(SubmissionLimits.DEFAULT);
        BeaconRunnerProperties.Provider provider = new Binder().bindOrCreate("provider", BeaconRunnerProperties.Provider.class);
        assertThat(new dev.beacon.runner.core.endpoint.SimulationSettings(provider.latency(), provider.jitter(), provider.failureRate()))
                .isEqualTo(dev.beacon.runner.core.endpoint.SimulationSettings.DEFAULT);
    }

    @Test
    void hostBeansWin() {
        EndpointCatalog own = new EndpointCatalog(java.util.List.of());
        engine.withBean(EndpointCatalog.class, () -> own).run(context -> assertThat(context.getBean(EndpointCatalog.class)).isSameAs(own));
    }

    @Test
    void badProviderUrlFailsStartUpNamingTheProperty() {
        engine.withPropertyValues("beacon.runner.endpoints[2].model=m2", "beacon.runner.endpoints[2].region=eu",
                        "beacon.runner.endpoints[2].providers[0].id=p3", "beacon.runner.endpoints[2].providers[0].type=openai",
                        "beacon.runner.endpoints[2].providers[0].url=ftp://example.org")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure())).isInstanceOf(InvalidConfigurationPropertyValueException.class)
                            .hasMessageContaining("beacon.runner.endpoints[2].providers[0].url");
                });
    }

    @Test
    void missingUrlForRemoteProviderFailsStartUpNamingTheProperty() {
        engine.withPropertyValues("beacon.runner.endpoints[1].providers[0].type=modal")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessageContaining("beacon.runner.endpoints[1].providers[0].url"));
    }

    @Test
    void unknownProviderTypeAndBadRegionAndBadDefaultsNameTheirProperties() {
        engine.withPropertyValues("beacon.runner.endpoints[0].providers[0].type=grpc")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageContaining("beacon.runner.endpoints[0].providers[0].type"));
        engine.withPropertyValues("beacon.runner.endpoints[1].region=")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageContaining("beacon.runner.endpoints[1].region"));
        engine.withPropertyValues("beacon.runner.defaults.min-success-rate=2")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageContaining("beacon.runner.defaults.min-success-rate"));
        engine.withPropertyValues("beacon.runner.endpoints[0].providers[0].max-concurrency=0")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageContaining("beacon.runner.endpoints[0].providers[0].max-concurrency"));
        engine.withPropertyValues("beacon.runner.endpoints[1].providers[0].id=p1")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageContaining("beacon.runner.endpoints"));
    }

    @Test
    void apiKeyNeverAppearsInAStartUpFailure() {
        engine.withPropertyValues("beacon.runner.endpoints[0].providers[0].api-key=sk-hidden-42",
                        "beacon.runner.endpoints[0].providers[0].type=openai")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).doesNotContain("sk-hidden-42");
                });
    }

    @Test
    void webLayerNeedsAReactiveWebApplication() {
        new ReactiveWebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(RunnerWebAutoConfiguration.class))
                .run(context -> assertThat(context).doesNotHaveBean("beaconRunnerRoutes"));
    }

    /** The whole stack over an in-memory H2 database in a reactive web context, as a host would have it. */
    private ReactiveWebApplicationContextRunner withDatabase() {
        return RunnerContexts.hostWithDatabase();
    }

    @Test
    void withADatabaseEveryPartIsConfigured() {
        withDatabase().run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(dev.beacon.runner.core.store.JobStore.class)
                    .hasSingleBean(dev.beacon.runner.core.store.JobSignals.class)
                    .hasSingleBean(dev.beacon.runner.core.engine.JobRunner.class)
                    .hasSingleBean(JobService.class)
                    .hasSingleBean(dev.beacon.runner.core.dispatch.JobDispatcher.class)
                    .hasBean("beaconRunnerRoutes")
                    .hasBean("beaconDispatcherHealthIndicator")
                    // No bean of a JDK type is contributed to the host: the runner uses the system clock itself.
                    .doesNotHaveBean(java.time.Clock.class);
        });
    }

    @Test
    void eachHostBeanMakesTheRunnersBackOff() {
        java.time.Clock clock = java.time.Clock.fixed(java.time.Instant.parse("2026-01-01T00:00:00Z"), java.time.ZoneOffset.UTC);
        dev.beacon.runner.core.provider.InferenceClientFactory clients = (endpoint, provider) -> request -> reactor.core.publisher.Mono.empty();
        withDatabase()
                .withBean("hostClock", java.time.Clock.class, () -> clock)
                .withBean("hostClients", dev.beacon.runner.core.provider.InferenceClientFactory.class, () -> clients)
                .withBean("hostSignals", dev.beacon.runner.core.store.JobSignals.class, dev.beacon.runner.persistence.LocalJobSignals::new)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(java.time.Clock.class)).isSameAs(clock);
                    assertThat(context.getBean(dev.beacon.runner.core.provider.InferenceClientFactory.class)).isSameAs(clients);
                    assertThat(context).hasSingleBean(dev.beacon.runner.core.store.JobSignals.class)
                            .doesNotHaveBean(dev.beacon.runner.core.provider.InferenceClients.class);
                });
        dev.beacon.runner.core.spec.SubmissionLimits strict = new dev.beacon.runner.core.spec.SubmissionLimits(5, 100, 4096);
        withDatabase().withBean("hostLimits", dev.beacon.runner.core.spec.SubmissionLimits.class, () -> strict)
                .run(context -> assertThat(context.getBean(dev.beacon.runner.core.spec.SubmissionLimits.class)).isSameAs(strict));
    }

    @Test
    void disablingTheWebLayerKeepsTheProgrammaticApi() {
        withDatabase().withPropertyValues("beacon.runner.web.enabled=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(JobService.class).doesNotHaveBean("beaconRunnerRoutes");
        });
        withDatabase().withPropertyValues("beacon.runner.dispatcher.enabled=false").run(context ->
                assertThat(context).hasSingleBean(JobService.class).doesNotHaveBean(dev.beacon.runner.core.dispatch.JobDispatcher.class));
    }

    private static Throwable rootCause(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && !(cause instanceof InvalidConfigurationPropertyValueException)) {
            cause = cause.getCause();
        }
        return cause;
    }
}
