package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.JobSpecReader;
import dev.beacon.runner.core.spec.SubmissionLimits;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import dev.beacon.runner.core.observe.RunnerObservability;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The runner's engine from {@code beacon.runner.*}: the endpoint catalog, job defaults and limits,
 * the spec reader and planner, the provider clients, the receipt signer, and the {@link JobRunner}
 * (once a {@link JobStore} exists to journal into). The runner's meters go to the host's
 * {@link MeterRegistry} when there is one. Every bean backs off when the host defines its own.
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration",
        "dev.beacon.runner.web.autoconfigure.RunnerPersistenceAutoConfiguration"})
@EnableConfigurationProperties(BeaconRunnerProperties.class)
public final class RunnerEngineAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RunnerEngineAutoConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    EndpointCatalog beaconEndpointCatalog(BeaconRunnerProperties properties) {
        EndpointCatalog catalog = properties.toEndpointCatalog();
        if (catalog.endpoints().isEmpty()) {
            log.warn("no endpoints configured (beacon.runner.endpoints): every submitted job will be rejected");
        }
        return catalog;
    }

    @Bean
    @ConditionalOnMissingBean
    JobDefaults beaconJobDefaults(BeaconRunnerProperties properties) {
        return properties.toJobDefaults();
    }

    @Bean
    @ConditionalOnMissingBean
    SubmissionLimits beaconSubmissionLimits(BeaconRunnerProperties properties) {
        return properties.toSubmissionLimits();
    }

    @Bean
    @ConditionalOnMissingBean
    JobSpecReader beaconJobSpecReader(EndpointCatalog catalog, JobDefaults defaults, SubmissionLimits limits) {
        return new JobSpecReader(catalog, defaults, limits);
    }

    @Bean
    @ConditionalOnMissingBean
    ExecutionPlanner beaconExecutionPlanner(EndpointCatalog catalog) {
        return new ExecutionPlanner(catalog);
    }

    /**
     * The host's {@link Clock} if it declares exactly one, else the system's in UTC. The runner
     * contributes no bean of a JDK type: a host's own {@code Clock} injection never sees one of ours.
     */
    static Clock clockOf(ObjectProvider<Clock> clock) {
        return clock.getIfUnique(Clock::systemUTC);
    }

    @Bean
    @ConditionalOnMissingBean
    ReceiptSigner beaconReceiptSigner(BeaconRunnerProperties properties) {
        return properties.toReceiptSigner().orElseGet(() -> {
            ReceiptSigner signer = ReceiptSigner.ephemeral();
            log.info("no receipt key configured (beacon.runner.receipts.private-key): signing with an ephemeral key {}", signer.keyId());
            return signer;
        });
    }

    /**
     * The provider clients, with a connection pool sized above every provider's max-concurrency. A host
     * that defines its own {@link InferenceClientFactory} replaces them.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(InferenceClientFactory.class)
    InferenceClients beaconInferenceClients(EndpointCatalog catalog) {
        return InferenceClients.forProviders(catalog.endpoints().stream().flatMap(e -> e.providers().stream()).toList());
    }

    /**
     * The engine. It journals through {@code store}; for the runner's own {@link R2dbcJobStore} through
     * the journal fenced to this instance ({@link R2dbcJobStore#journalFor}), so that once another
     * instance has taken a job over (this one paused past its lease), every further write of this
     * instance is refused with a {@code OwnershipLostException} instead of landing as the owner's.
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(JobStore.class)
    JobRunner beaconJobRunner(EndpointCatalog catalog, InferenceClientFactory clients, JobStore store, ReceiptSigner signer,
                              ObjectProvider<Clock> clock, RunnerInstance instance, ObjectProvider<MeterRegistry> meterRegistry,
                              ObjectProvider<ObservationRegistry> observationRegistry, BeaconRunnerProperties properties) {
        // Both reach beyond this context (one registry per JVM), so only when the host asks
        // (beacon.runner.observability.*; the standalone app does).
        if (properties.observability().mdc()) {
            // The engine's log lines of a job carry its ids; with spring.reactor.context-propagation=auto
            // every other line written inside the job does too.
            RunnerObservability.registerMdcAccessor();
        }
        JobRunner.Builder builder = JobRunner.builder()
                .endpoints(catalog)
                .clients(clients)
                .journal(journalOf(store, instance))
                .receiptSigner(signer)
                .clock(clockOf(clock))
                .runnerId(instance.id());
        meterRegistry.ifAvailable(builder::meterRegistry);
        observationRegistry.ifAvailable(registry -> {
            builder.observationRegistry(registry);
            if (properties.observability().reactorNettyObservations()) {
                // Reactor Netty reports client exchanges to one process-wide registry; with it, each
                // provider call appears as a child of its beacon.execution observation.
                reactor.netty.Metrics.observationRegistry(registry);
            }
        });
        return builder.build();
    }

    /** The journal the engine writes through: fenced to this instance when the store can fence. */
    static JobJournal journalOf(JobStore store, RunnerInstance instance) {
        return store instanceof R2dbcJobStore r2dbc ? r2dbc.journalFor(instance.id()) : store;
    }

    @Bean
    @ConditionalOnMissingBean
    RunnerInstance beaconRunnerInstance(BeaconRunnerProperties properties) {
        // No database to share (engine only): the configured name, or the host's.
        return new RunnerInstance(RunnerInstance.candidates(properties.dispatcher().instanceId()).get(0));
    }
}
