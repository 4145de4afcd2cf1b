package dev.beacon.runner.core.spec;

/** Sampling parameters sent with every question of a job. */
public record InferenceParams(double temperature, int maxTokens, Long seed, String systemPrompt) {

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
