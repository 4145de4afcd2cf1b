package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.provider.InferenceClient;
import dev.beacon.runner.core.provider.InferenceFailure;
import dev.beacon.runner.core.provider.InferenceRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * An in-process provider for engine tests: each call's latency and outcome come from a script,
 * timed on the test's (virtual) scheduler, and every call is recorded: start, end or cancel,
 * and the peak number in flight.
 */
final class ScriptedClient implements InferenceClient {

    /** What one call does: answer after {@code latency}, or fail with {@code failure} after it. */
    record Step(Duration latency, InferenceFailure failure) {
        static Step answer(long millis) {
            return new Step(Duration.ofMillis(millis), null);
        }

        static Step fail(long millis, InferenceFailure failure) {
            return new Step(Duration.ofMillis(millis), failure);
        }
    }

    record Call(String model, String region, String prompt, int attempt, long startedAt, int sample, Long seed, String systemPrompt) {
    }

    private final String providerId;
    private final Scheduler scheduler;
    private final BiFunction<InferenceRequest, Integer, Step> script;
    private final Map<String, AtomicInteger> attemptsByKey = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight;
    private final AtomicInteger peak;
    final List<Call> calls = new CopyOnWriteArrayList<>();
    final List<Call> cancelled = new CopyOnWriteArrayList<>();
    final AtomicInteger completed = new AtomicInteger();

    ScriptedClient(String providerId, Scheduler scheduler, AtomicInteger inFlight, AtomicInteger peak,
                   BiFunction<InferenceRequest, Integer, Step> script) {
        this.providerId = providerId;
        this.scheduler = scheduler;
        this.inFlight = inFlight;
        this.peak = peak;
        this.script = script;
    }

    @Override
    public Mono<InferenceOutput> infer(InferenceRequest request) {
        return Mono.defer(() -> {
            int attempt = attemptsByKey.computeIfAbsent(request.region() + "|" + request.prompt() + "|" + request.sample(),
                    k -> new AtomicInteger()).incrementAndGet();
            Call call = new Call(request.model(), request.region(), request.prompt(), attempt, scheduler.now(java.util.concurrent.TimeUnit.MILLISECONDS),
                    request.sample(), request.seed(), request.systemPrompt());
            calls.add(call);
            peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            Step step = script.apply(request, attempt);
            Mono<InferenceOutput> outcome = step.failure() != null
                    ? Mono.error(step.failure())
                    : Mono.just(new InferenceOutput(providerId + " says " + request.region() + ":" + request.prompt(), "stop", new TokenUsage(3, 5)));
            return Mono.delay(step.latency(), scheduler)
                    .then(outcome)
                    // Count the call out before its result travels on: the next call may start synchronously.
                    .doOnSuccess(o -> {
                        inFlight.decrementAndGet();
                        completed.incrementAndGet();
                    })
                    .doOnError(e -> inFlight.decrementAndGet())
                    .doOnCancel(() -> {
                        inFlight.decrementAndGet();
                        cancelled.add(call);
                    });
        });
    }
}
