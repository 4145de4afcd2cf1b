package dev.beacon.runner.core.domain;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a model answered: the text, why it stopped, the tokens it used, and what the provider said
 * about itself ({@link Provenance#NONE} when nothing).
 */
public record InferenceOutput(String text, @Nullable String finishReason, TokenUsage usage, Provenance provenance) {

    /** {@code usage} null is {@link TokenUsage#UNKNOWN}; {@code provenance} null is {@link Provenance#NONE}. */
    public InferenceOutput(String text, @Nullable String finishReason, @Nullable TokenUsage usage, @Nullable Provenance provenance) {
        this.text = Objects.requireNonNull(text, "text");
        this.finishReason = finishReason;
        this.usage = usage == null ? TokenUsage.UNKNOWN : usage;
        this.provenance = provenance == null ? Provenance.NONE : provenance;
    }

    /** An answer whose provider reported nothing about itself. */
    public InferenceOutput(String text, @Nullable String finishReason, @Nullable TokenUsage usage) {
        this(text, finishReason, usage, Provenance.NONE);
    }
}
