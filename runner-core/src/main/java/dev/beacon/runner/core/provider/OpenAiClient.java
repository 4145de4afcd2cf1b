package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.TokenUsage;
import java.net.URI;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Asks an OpenAI-compatible server ({@code POST {url}/v1/chat/completions}, non-streaming) one
 * question. The model sent is the one this client was created for, not {@link InferenceRequest#model()}.
 */
final class OpenAiClient extends ChatClient {

    OpenAiClient(ProviderTransport transport, URI baseUrl, String model) {
        super(transport, baseUrl, "/v1/chat/completions", model);
    }

    @Override
    ObjectNode body(InferenceRequest request) {
        ObjectNode body = transport.newObject();
        body.put("model", model);
        ProviderTransport.putChatMessages(body, request);
        body.put("temperature", request.temperature());
        body.put("max_tokens", request.maxTokens());
        if (request.seed() != null) {
            body.put("seed", request.seed());
        }
        body.put("stream", false);
        return body;
    }

    /** Maps {@code choices[0]}, {@code usage}, and as provenance {@code model}, {@code system_fingerprint} and {@code id}. */
    @Override
    InferenceOutput output(JsonReply reply) {
        JsonNode root = reply.body();
        String text = transport.requiredString(root, "/choices/0/message/content");
        String finishReason = transport.optionalString(root, "/choices/0/finish_reason");
        TokenUsage usage = new TokenUsage(
                transport.optionalCount(root, "/usage/prompt_tokens"),
                transport.optionalCount(root, "/usage/completion_tokens"));
        Provenance provenance = new Provenance(transport.optionalString(root, "/model"),
                transport.optionalString(root, "/system_fingerprint"), transport.optionalString(root, "/id"), reply.headers());
        return new InferenceOutput(text, finishReason, usage, provenance);
    }
}
