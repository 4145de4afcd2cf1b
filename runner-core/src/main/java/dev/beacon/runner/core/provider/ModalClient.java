package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.TokenUsage;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.Locale;
import java.util.Set;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Asks a Modal web endpoint ({@code POST {url}}) one question, following Modal's long-request
 * redirects: a {@code 303 See Other} is fetched with {@code GET} at its {@code Location}, as often as
 * Modal repeats it (up to {@link #MAX_REDIRECTS}). No time limit of its own: the caller's attempt
 * timeout bounds the whole chain. The bearer token only follows redirects to the same origin.
 */
final class ModalClient implements InferenceClient {

    static final int MAX_REDIRECTS = 20;
    private static final Set<String> SUCCESS = Set.of("success", "ok", "completed");

    private final ProviderTransport transport;
    private final URI endpoint;
    private final String model;

    ModalClient(ProviderTransport transport, URI url, String model) {
        this.transport = transport;
        this.endpoint = url;
        this.model = model;
    }

    /**
     * Sends one request, follows any 303 chain and maps {@code response} and {@code tokens_generated}.
     *
     * <p>On error emits an {@link InferenceFailure} ({@code HTTP_nnn}, {@code CONNECT}, {@code TIMEOUT},
     * {@code BODY_TOO_LARGE}, or {@code BAD_RESPONSE} for an unparseable body, a status other than
     * success/ok/completed, an {@code error} field, a 303 without usable {@code Location}, or too many
     * redirects). Other 3xx statuses are not followed and fail as {@code HTTP_3xx}. On cancel closes the
     * connection of the hop in flight.
     */
    @Override
    public Mono<InferenceOutput> infer(InferenceRequest request) {
        return Mono.defer(() -> transport.exchange(HttpMethod.POST, endpoint, body(request), true))
                .flatMap(reply -> follow(reply, endpoint, 0))
                .map(transport::successReply)
                .map(this::output);
    }

    ObjectNode body(InferenceRequest request) {
        ObjectNode body = transport.newObject();
        body.put("model", model);
        body.put("prompt", request.prompt());
        if (request.systemPrompt() != null) {
            body.put("system_prompt", request.systemPrompt());
        }
        body.put("temperature", request.temperature());
        body.put("max_tokens", request.maxTokens());
        body.put("region", request.region());
        return body;
    }

    private Mono<HttpReply> follow(HttpReply reply, URI from, int hops) {
        if (reply.status() != 303) {
            return Mono.just(reply);
        }
        if (hops >= MAX_REDIRECTS) {
            return Mono.error(transport.badResponse("more than " + MAX_REDIRECTS + " redirects"));
        }
        String location = reply.location();
        if (location == null || location.isBlank()) {
            return Mono.error(transport.badResponse("answered 303 without a Location"));
        }
        URI next;
        try {
            next = from.resolve(location.trim());
        } catch (IllegalArgumentException e) {
            return Mono.error(transport.badResponse("answered 303 with an invalid Location", transport.quote(location)));
        }
        if (!"http".equalsIgnoreCase(next.getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
            return Mono.error(transport.badResponse("answered 303 with a non-HTTP Location", transport.quote(location)));
        }
        return transport.exchange(HttpMethod.GET, next, null, ProviderUris.sameOrigin(endpoint, next))
                .flatMap(nextReply -> follow(nextReply, next, hops + 1));
    }

    /** Maps {@code response}, {@code tokens_generated}, and {@code model} (when the app reports one) as the served model. */
    private InferenceOutput output(JsonReply reply) {
        JsonNode root = reply.body();
        JsonNode error = root.path("error");
        if (!error.isMissingNode() && !error.isNull()) {
            String what = error.isString() ? error.stringValue() : error.toString();
            throw transport.badResponse("response reports an error", transport.quote(what));
        }
        String status = transport.optionalString(root, "/status");
        if (root.has("status") && (status == null || !SUCCESS.contains(status.toLowerCase(Locale.ROOT)))) {
            throw transport.badResponse("response status is not a success", transport.quote(String.valueOf(root.get("status"))));
        }
        String text = transport.requiredString(root, "/response");
        TokenUsage usage = new TokenUsage(null, transport.optionalCount(root, "/tokens_generated"));
        Provenance provenance = new Provenance(transport.optionalString(root, "/model"), null, null, reply.headers());
        return new InferenceOutput(text, transport.optionalString(root, "/finish_reason"), usage, provenance);
    }
}
