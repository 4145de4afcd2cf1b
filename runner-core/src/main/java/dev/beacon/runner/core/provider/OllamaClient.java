package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.TokenUsage;
import java.net.URI;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Asks an Ollama server ({@code POST {url}/api/chat}, non-streaming) one question. The model sent is
 * the one this client was created for, not {@link InferenceRequest#model()}.
 */
final class OllamaClient extends ChatClient {

    OllamaClient(ProviderTransport transport, URI baseUrl, String model) {
        super(transport, baseUrl, "/api/chat", model);
    }

    @Override
    ObjectNode body(InferenceRequest request) {
        ObjectNode body = transport.newObject();
        body.put("model", model);
        ProviderTransport.putChatMessages(body, request);
        body.put("stream", false);
        ObjectNode options = body.putObject("options");
        options.put("temperature", request.temperature());
        options.put("num_predict", request.maxTokens());
        if (request.seed() != null) {
            options.put("seed", request.seed());
        }
        return body;
    }

    /**
     * Maps {@code message.content}, {@code done_reason}, the counts, and {@code model} as the served
     * model; a 2xx body that carries an {@code error} is a {@code BAD_RESPONSE}.
     */
    @Override
    InferenceOutput output(JsonReply reply) {
        JsonNode root = reply.body();
        String error = transport.optionalString(root, "/error");
        if (error != null) {
            throw transport.badResponse("response reports an error", transport.quote(error));
        }
        String text = transport.requiredString(root, "/message/content");
        TokenUsage usage = new TokenUsage(
                transport.optionalCount(root, "/prompt_eval_count"),
                transport.optionalCount(root, "/eval_count"));
        Provenance provenance = new Provenance(transport.optionalString(root, "/model"), null, null, reply.headers());
        return new InferenceOutput(text, transport.optionalString(root, "/done_reason"), usage, provenance);
    }
}
