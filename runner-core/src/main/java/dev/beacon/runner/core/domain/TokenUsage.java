package dev.beacon.runner.core.domain;

import org.jspecify.annotations.Nullable;

/** Token counts as reported by the provider; {@code null} where the provider reports none. */
public record TokenUsage(@Nullable Integer promptTokens, @Nullable Integer completionTokens) {

    public static final TokenUsage UNKNOWN = new TokenUsage(null, null);

    public TokenUsage {
        if (promptTokens != null && promptTokens < 0) {
            throw new IllegalArgumentException("promptTokens must be >= 0, but was " + promptTokens);
        }
        if (completionTokens != null && completionTokens < 0) {
            throw new IllegalArgumentException("completionTokens must be >= 0, but was " + completionTokens);
        }
    }
}
