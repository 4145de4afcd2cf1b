package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.dispatch.JobDispatcher;
import dev.beacon.runner.core.engine.JobRunner;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.service.EvidenceService;
import dev.beacon.runner.core.store.EvidenceStore;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.service.DefaultJobService;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.JobSpecReader;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import reactor.core.scheduler.Schedulers;

/**
 * The {@link JobService} over the store (comparisons by {@link RunnerAnalysisAutoConfiguration}'s
 * {@link JobComparisons}), and the {@link JobDispatcher} that runs this instance's share
 * of the queued jobs. The dispatcher starts with the application context and, on shutdown (SIGTERM),
 * stops claiming and stops its running jobs, releasing their leases so that they are resumed (here
 * after a restart, or at once by another instance) — within {@code dispatcher.shutdown-timeout}.
 * Set {@code beacon.runner.dispatcher.enabled=false} for an instance that only serves the API.
 */
@AutoConfiguration(after = {RunnerEngineAutoConfiguration.class, RunnerPersistenceAutoConfiguration.class,
        RunnerAnalysisAutoConfiguration.class})
@ConditionalOnBean({JobStore.class, JobSignals.class, JobRunner.class})
public final class RunnerServiceAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    JobService beaconJobService(JobStore store, JobSignals signals, JobSpecReader reader, ExecutionPlanner planner, JobRunner runner,
                                ObjectProvider<Clock> clockProvider, BeaconRunnerProperties properties, ObjectProvider<JobComparisons> comparisons) {
        Duration poll = properties.dispatcher().pollInterval();
        JobComparisons shared = comparisons.getIfAvailable();
        // Without RunnerAnalysisAutoConfiguration (a host listing auto-configurations itself) the service
        // makes and closes comparisons of its own.
        Clock clock = RunnerEngineAutoConfiguration.clockOf(clockProvider);
        return shared == null ? new DefaultJobService(store, signals, reader, planner, runner, clock, poll)
                : new DefaultJobService(store, signals, reader, planner, runner, clock, poll, shared);
    }

    /** The published keys and the bundles of finished jobs, when the store keeps evidence. */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(EvidenceStore.class)
    EvidenceService beaconEvidenceService(JobStore store, EvidenceStore evidence) {
        return new EvidenceService(store, evidence);
    }

    /**
     * Records the runner's public key in the database before anything is signed with it, so that
     * {@code GET /keys} lists it (and keeps listing it after a restart with another key).
     */
    @Bean
    @ConditionalOnBean({EvidenceStore.class, ReceiptSigner.class})
    @ConditionalOnMissingBean
    RunnerKeyRegistration beaconRunnerKeyRegistration(EvidenceStore evidence, ReceiptSigner signer, ObjectProvider<Clock> clockProvider,
                                                      BeaconRunnerProperties properties) {
        return new RunnerKeyRegistration(evidence, signer, RunnerEngineAutoConfiguration.clockOf(clockProvider), properties.persistence().timeout().multipliedBy(3));
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBooleanProperty(name = "beacon.runner.dispatcher.enabled", matchIfMissing = true)
    JobDispatcher beaconJobDispatcher(JobStore store, JobSignals signals, JobRunner runner, ExecutionPlanner planner, ObjectProvider<Clock> clockProvider,
                                      RunnerInstance instance, BeaconRunnerProperties properties) {
        return new JobDispatcher(store, signals, runner, planner, properties.toDispatcherSettings(instance.id()), RunnerEngineAutoConfiguration.clockOf(clockProvider),
                Schedulers.parallel());
    }

    @Bean
    @ConditionalOnBean(JobDispatcher.class)
    @ConditionalOnMissingBean
    DispatcherLifecycle beaconDispatcherLifecycle(JobDispatcher dispatcher, BeaconRunnerProperties properties) {
        return new DispatcherLifecycle(dispatcher, properties.dispatcher().shutdownTimeout());
    }

    /**
     * Starts the dispatcher with the context and stops it first on shutdown (before the web server's
     * graceful shutdown), without blocking: the context's stop waits for the callback.
     */
    public static final class DispatcherLifecycle implements SmartLifecycle {

        /** Stops before the web server's graceful shutdown ({@code Integer.MAX_VALUE - 1024}). */
        public static final int PHASE = Integer.MAX_VALUE - 256;
        private static final Logger log = LoggerFactory.getLogger(DispatcherLifecycle.class);

        private final JobDispatcher dispatcher;
        private final Duration timeout;

        DispatcherLifecycle(JobDispatcher dispatcher, Duration timeout) {
            this.dispatcher = dispatcher;
            this.timeout = timeout;
        }

        @Override
        public void start() {
            dispatcher.start();
        }

        @Override
        public void stop() {
            throw new UnsupportedOperationException("stop(Runnable) is used");
        }

        @Override
        public void stop(Runnable callback) {
            dispatcher.stop()
                    .timeout(timeout)
                    .doFinally(signal -> callback.run())
                    .subscribe(x -> {
                    }, e -> {
                        if (e instanceof TimeoutException) {
                            log.warn("dispatcher did not release its jobs within {}; their leases will expire instead", timeout);
                        } else {
                            log.warn("dispatcher stop failed: {}", e.toString());
                        }
                    });
        }

        @Override
        public boolean isRunning() {
            return dispatcher.isRunning();
        }

        @Override
        public int getPhase() {
            return PHASE;
        }
    }
}
