package dev.beacon.runner.core.provider;

import java.util.Objects;

/**
 * One question as sent to one provider.
 *
 * @param model  the model name the provider expects
 * @param region the endpoint's region (some providers route on it)
 * @param seed   sampling seed, or {@code null}
 */
public record InferenceRequest(
        String model,
        String region,
        String systemPrompt,
        String prompt,
        double temperature,
        int maxTokens,
        Long seed) {

    public InferenceRequest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(prompt, "prompt");
    }
}
