package dev.beacon.runner.core.spec;

import org.jspecify.annotations.Nullable;

/**
 * Sampling parameters sent with every question of a job.
 *
 * @param seed         the seed of sample 0; sample {@code s} sends {@code seed + s}. {@code null}: none sent
 * @param systemPrompt sent as the system message, with {@value #REGION_PLACEHOLDER} replaced by the
 *                     endpoint's region; no other placeholder exists. {@code null}: none sent
 */
public record InferenceParams(double temperature, int maxTokens, @Nullable Long seed, @Nullable String systemPrompt) {

    /** Stands for the endpoint's region in {@link #systemPrompt()}. */
    public static final String REGION_PLACEHOLDER = "{region}";

    public static final InferenceParams DEFAULT = new InferenceParams(0.1, 500, 42L, "You are a helpful assistant.");

    public InferenceParams {
        if (!(temperature >= 0 && temperature <= 2)) {
            throw new IllegalArgumentException("temperature must be between 0 and 2, but was " + temperature);
        }
        if (maxTokens < 1 || maxTokens > 32_768) {
            throw new IllegalArgumentException("maxTokens must be between 1 and 32768, but was " + maxTokens);
        }
    }
}
