package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.service.EvidenceService;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.SubmissionLimits;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import dev.beacon.runner.web.http.ActuatorTokenAuthentication;
import dev.beacon.runner.web.http.RunnerRoutes;
import org.slf4j.Logger;
import org.springframework.beans.factory.ObjectProvider;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Mounts the runner's HTTP API (README, API) in a reactive web application, under
 * {@code beacon.runner.web.base-path}, unless {@code beacon.runner.web.enabled=false}. The API is a
 * single {@link RouterFunction} bean whose filters (bearer tokens, problem+json errors) apply to the
 * runner's routes only; no global security chain or exception handler is installed.
 */
@AutoConfiguration(after = RunnerServiceAutoConfiguration.class, afterName = {
        "org.springframework.boot.webflux.autoconfigure.WebFluxAutoConfiguration",
        "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration"})
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnBooleanProperty(name = "beacon.runner.web.enabled", matchIfMissing = true)
@ConditionalOnBean(JobService.class)
public final class RunnerWebAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RunnerWebAutoConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    EventStreamCloser beaconEventStreamCloser() {
        return new EventStreamCloser();
    }

    @Bean
    @ConditionalOnMissingBean(name = "beaconRunnerRoutes")
    RouterFunction<ServerResponse> beaconRunnerRoutes(JobService service, ObjectProvider<EvidenceService> evidence,
                                                      BeaconRunnerProperties properties, SubmissionLimits limits, EventStreamCloser closer) {
        BeaconRunnerProperties.Security security = properties.security();
        RunnerRoutes.Settings settings = new RunnerRoutes.Settings(properties.web().basePath(), limits.maxBodyBytes(),
                properties.web().sseKeepAlive(), security.effectiveTokens(), security.openReads());
        if (settings.secured()) {
            log.info("runner API at '{}/': {} bearer token(s) configured; reads {}", settings.basePath(), settings.tokens().size(),
                    security.openReads() ? "open" : "need a token too");
        } else {
            log.warn("runner API at '{}/' is OPEN: no bearer token configured (beacon.runner.security.tokens); "
                    + "anyone who can reach this port can submit and cancel jobs", settings.basePath());
        }
        return RunnerRoutes.create(service, evidence.getIfAvailable(), settings, closer.closed());
    }

    /**
     * The runner's bearer tokens authenticate callers of Actuator too, so that
     * {@code management.endpoint.health.show-details=when-authorized} shows health details to a token
     * holder only (without tokens it lets everything through untouched). Not installed when the host has
     * Spring Security's web support: its own chain decides who is authenticated.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.security.core.context.ReactiveSecurityContextHolder")
    @ConditionalOnMissingClass("org.springframework.security.web.server.SecurityWebFilterChain")
    static class ActuatorTokens {

        @Bean
        @ConditionalOnMissingBean(name = "beaconActuatorTokenAuthentication")
        ActuatorTokenAuthentication beaconActuatorTokenAuthentication(BeaconRunnerProperties properties, Environment environment) {
            return new ActuatorTokenAuthentication(properties.security().effectiveTokens(),
                    environment.getProperty("management.endpoints.web.base-path", "/actuator"));
        }
    }

    /**
     * Ends every open event stream when shutdown begins, before the web server's graceful shutdown
     * ({@code Integer.MAX_VALUE - 1024}) would otherwise wait for them; clients reconnect with
     * {@code Last-Event-ID} to a live instance and miss nothing.
     *
     * <p>Restartable: a context that is stopped and started again (Spring Framework 7 pauses cached
     * test contexts that way) gets a fresh signal on start, so streams opened after the restart are
     * not ended at once by the stop before it.
     */
    public static final class EventStreamCloser implements SmartLifecycle {

        private Sinks.Empty<Void> closed = Sinks.empty();
        private boolean fired;
        private volatile boolean running;

        /** Completes at the next {@link #stop()} after subscription (at once while stopped); never errors. */
        Mono<Void> closed() {
            return Mono.defer(this::current);
        }

        private synchronized Mono<Void> current() {
            return closed.asMono();
        }

        @Override
        public synchronized void start() {
            if (fired) {
                // Only after a stop: a stream opened before the first start keeps the signal it holds.
                closed = Sinks.empty();
                fired = false;
            }
            running = true;
        }

        @Override
        public synchronized void stop() {
            running = false;
            fired = true;
            closed.tryEmitEmpty();
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public int getPhase() {
            return Integer.MAX_VALUE - 512;
        }
    }
}
