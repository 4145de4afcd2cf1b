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

    /**
     * A stable text form of everything sent, one field per line, hashed into execution receipts.
     * Unlike {@code toString()} its format is part of the receipt contract and never changes.
     */
    public String canonicalText() {
        return String.join("\n", "model=" + model, "region=" + region, "system=" + systemPrompt, "prompt=" + prompt,
                "temperature=" + temperature, "maxTokens=" + maxTokens, "seed=" + seed);
    }
}
