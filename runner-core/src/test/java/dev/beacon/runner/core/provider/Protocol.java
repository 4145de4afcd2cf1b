package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/** The three HTTP protocols, with a canned successful answer for each, for tests that apply to all. */
enum Protocol {
    OPENAI(ProviderType.OPENAI, "", "/v1/chat/completions", """
            {"id":"chatcmpl-1","object":"chat.completion","model":"llama-3.2-1b-instruct","system_fingerprint":"fp_44709d6fcb",
             "choices":[{"index":0,
             "message":{"role":"assistant","content":"Paris is the capital of France."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":21,"completion_tokens":7,"total_tokens":28}}""",
            new InferenceOutput("Paris is the capital of France.", "stop", new TokenUsage(21, 7),
                    new Provenance("llama-3.2-1b-instruct", "fp_44709d6fcb", "chatcmpl-1", Map.of()))),
    OLLAMA(ProviderType.OLLAMA, "", "/api/chat", """
            {"model":"llama3.2:1b","created_at":"2026-01-01T00:00:00Z",
             "message":{"role":"assistant","content":"Paris is the capital of France."},
             "done":true,"done_reason":"stop","prompt_eval_count":21,"eval_count":7}""",
            new InferenceOutput("Paris is the capital of France.", "stop", new TokenUsage(21, 7),
                    new Provenance("llama3.2:1b", null, null, Map.of()))),
    MODAL(ProviderType.MODAL, "/infer", "/infer", """
            {"status":"success","response":"Paris is the capital of France.","inference_time":0.81,"tokens_generated":7}""",
            new InferenceOutput("Paris is the capital of France.", null, new TokenUsage(null, 7)));

    static final String ENDPOINT_MODEL = "llama3.2-1b";

    final ProviderType type;
    /** Appended to the server's base URL to form the configured provider URL. */
    final String configuredPath;
    /** The path the client POSTs to. */
    final String requestPath;
    final String successBody;
    final InferenceOutput expected;

    Protocol(ProviderType type, String configuredPath, String requestPath, String successBody, InferenceOutput expected) {
        this.type = type;
        this.configuredPath = configuredPath;
        this.requestPath = requestPath;
        this.successBody = successBody;
        this.expected = expected;
    }

    ProviderConfig config(String baseUrl, String apiKey) {
        return new ProviderConfig(name().toLowerCase() + "-eu", type, URI.create(baseUrl + configuredPath), apiKey, null, 4,
                Duration.ofSeconds(30), null);
    }

    static InferenceRequest question() {
        return new InferenceRequest(ENDPOINT_MODEL, "eu", "You are a helpful assistant.", "What is the capital of France?", 0.1, 500, 42L);
    }
}
