package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import reactor.core.publisher.Mono;

/**
 * Asks one provider one question, once. Retries, timeouts, fallbacks and concurrency limits are the
 * engine's job, not the client's.
 */
public interface InferenceClient {

    /**
     * Sends one attempt.
     *
     * <p>On success emits the parsed answer. On error emits an {@link InferenceFailure} carrying an
     * error code ({@code HTTP_503}, {@code CONNECT}, {@code BAD_RESPONSE}, …) and whether a retry may
     * help. On cancel aborts the exchange and closes its connection, so the remote side sees the
     * client leave. Never blocks the calling thread.
     */
    Mono<InferenceOutput> infer(InferenceRequest request);
}
