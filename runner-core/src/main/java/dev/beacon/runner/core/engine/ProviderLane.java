package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.provider.InferenceClient;
import dev.beacon.runner.core.provider.InferenceFailure;
import dev.beacon.runner.core.provider.InferenceRequest;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import dev.beacon.runner.core.observe.RunnerObservability;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * One provider of one endpoint as the engine uses it: its client behind a circuit breaker and a
 * concurrency gate shared by every job of this instance.
 */
final class ProviderLane {

    private static final Logger log = LoggerFactory.getLogger(ProviderLane.class);

    private final EndpointId endpoint;
    private final ProviderConfig config;
    private final InferenceClient client;
    private final ConcurrencyGate gate;
    private final CircuitBreaker circuitBreaker;
    private final Scheduler scheduler;
    private final EngineMetrics metrics;
    private volatile @Nullable ExecutionError lastError;

    ProviderLane(EndpointId endpoint, ProviderConfig config, InferenceClient client, CircuitBreaker circuitBreaker, Scheduler scheduler,
                 EngineMetrics metrics) {
        this.endpoint = endpoint;
        this.config = config;
        this.client = client;
        // Adaptive: the provider's 429 (too many requests) and 503 (overloaded) mean "fewer at once".
        this.gate = new ConcurrencyGate(config.maxConcurrency(), config.adaptive()
                ? e -> e instanceof InferenceFailure f && ("HTTP_429".equals(f.code()) || "HTTP_503".equals(f.code()))
                : null);
        this.circuitBreaker = circuitBreaker;
        this.scheduler = scheduler;
        this.metrics = metrics;
    }

    EndpointId endpoint() {
        return endpoint;
    }

    ProviderConfig config() {
        return config;
    }

    String id() {
        return config.id();
    }

    ConcurrencyGate gate() {
        return gate;
    }

    CircuitBreaker circuitBreaker() {
        return circuitBreaker;
    }

    /** The most recent failure of this provider, or {@code null}. */
    @Nullable ExecutionError lastError() {
        return lastError;
    }

    /**
     * One attempt: fails fast with {@code CIRCUIT_OPEN} while the circuit is open, otherwise waits
     * for a concurrency permit (the wait is recorded) and calls the provider with the provider's
     * attempt timeout. The provider's id is in the MDC context of everything the attempt does, and
     * a failure is logged at INFO with its error code.
     *
     * <p>On error emits an {@link InferenceFailure} ({@code TIMEOUT} for the attempt timeout). On
     * cancel leaves the gate's queue or cancels the exchange, which closes its connection.
     */
    Mono<InferenceOutput> attempt(InferenceRequest request) {
        return Mono.deferContextual(context -> call(request)
                        .transformDeferred(CircuitBreakerOperator.of(circuitBreaker))
                        .onErrorMap(CallNotPermittedException.class, e -> InferenceFailure.permanent(ExecutionError.CIRCUIT_OPEN,
                                "circuit of provider " + config.id() + " is open after repeated failures"))
                        .onErrorMap(e -> !(e instanceof InferenceFailure), e -> {
                            // A bug, not a provider outage: keep the stack trace for whoever has to fix it.
                            LogContext.log(context, () -> log.warn("provider {} failed unexpectedly", config.id(), e));
                            return InferenceFailure.permanent(ExecutionError.INTERNAL, "provider " + config.id() + " failed unexpectedly");
                        })
                        .doOnError(InferenceFailure.class, f -> {
                            lastError = f.toError();
                            // Failure messages name the provider and the problem, never a key or a response body.
                            LogContext.log(context, () -> log.info("provider {} attempt failed: {} ({}) {}", config.id(), f.code(),
                                    f.retryable() ? "transient" : "permanent", f.getMessage()));
                        }))
                .contextWrite(ctx -> LogContext.with(ctx, RunnerObservability.PROVIDER, config.id()));
    }

    /** The call behind the gate's permit, with the attempt timeout; the queue wait is recorded once the permit is held. */
    private Mono<InferenceOutput> call(InferenceRequest request) {
        long queuedAt = scheduler.now(TimeUnit.NANOSECONDS);
        Mono<InferenceOutput> call = Mono.defer(() -> {
                    metrics.queueWaited(this, Duration.ofNanos(scheduler.now(TimeUnit.NANOSECONDS) - queuedAt));
                    return client.infer(request);
                })
                .timeout(config.timeout(), scheduler)
                .onErrorMap(TimeoutException.class, e -> InferenceFailure.retryable(ExecutionError.TIMEOUT,
                        "provider " + config.id() + " did not answer within " + config.timeout()));
        return gate.run(call);
    }
}
