package dev.beacon.runner.core.provider;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One question as sent to one provider.
 *
 * @param model  the model name the provider expects
 * @param region the endpoint's region (some providers route on it)
 * @param systemPrompt the system message, or {@code null} for none
 * @param seed   sampling seed, or {@code null}
 * @param sample which repetition of the question at this endpoint this is; not sent to a remote
 *               provider (it sees a different {@code seed} per sample when the job sets one), but
 *               the simulated provider varies its answers by it
 */
public record InferenceRequest(
        String model,
        String region,
        @Nullable String systemPrompt,
        String prompt,
        double temperature,
        int maxTokens,
        @Nullable Long seed,
        int sample) {

    public InferenceRequest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(prompt, "prompt");
        if (sample < 0) {
            throw new IllegalArgumentException("sample must be >= 0, but was " + sample);
        }
    }

    /** The request of sample 0. */
    public InferenceRequest(String model, String region, @Nullable String systemPrompt, String prompt, double temperature, int maxTokens,
                            @Nullable Long seed) {
        this(model, region, systemPrompt, prompt, temperature, maxTokens, seed, 0);
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
