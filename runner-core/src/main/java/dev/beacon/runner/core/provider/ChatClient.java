package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import java.net.URI;
import reactor.core.publisher.Mono;
import tools.jackson.databind.node.ObjectNode;

/**
 * A non-streaming chat protocol over the {@link ProviderTransport}: one JSON request, one JSON reply.
 * The subclasses say how a request is written and a reply read; the model sent is the one the client
 * was created for, not {@link InferenceRequest#model()}.
 */
abstract sealed class ChatClient implements InferenceClient permits OpenAiClient, OllamaClient {

    final ProviderTransport transport;
    final String model;
    private final URI endpoint;

    /** @param path the protocol's chat path, appended to {@code baseUrl} */
    ChatClient(ProviderTransport transport, URI baseUrl, String path, String model) {
        this.transport = transport;
        this.endpoint = ProviderUris.append(baseUrl, path);
        this.model = model;
    }

    /**
     * Sends one chat request and maps its reply.
     *
     * <p>On error emits an {@link InferenceFailure} ({@code HTTP_nnn}, {@code CONNECT}, {@code TIMEOUT},
     * {@code BAD_RESPONSE}, {@code BODY_TOO_LARGE}). On cancel closes the connection.
     */
    @Override
    public final Mono<InferenceOutput> infer(InferenceRequest request) {
        return Mono.defer(() -> transport.postJson(endpoint, body(request))).map(this::output);
    }

    /** The request body of {@code request}. */
    abstract ObjectNode body(InferenceRequest request);

    /** The answer in {@code reply}; throws a {@code BAD_RESPONSE} failure for a reply it cannot read. */
    abstract InferenceOutput output(JsonReply reply);
}
