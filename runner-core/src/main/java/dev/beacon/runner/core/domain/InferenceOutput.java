package dev.beacon.runner.core.domain;

import java.util.Objects;

/**
 * What a model answered: the text, why it stopped, the tokens it used, and what the provider said
 * about itself ({@link Provenance#NONE} when nothing).
 */
public record InferenceOutput(String text, String finishReason, TokenUsage usage, Provenance provenance) {

    public InferenceOutput {
        Objects.requireNonNull(text, "text");
        usage = usage == null ? TokenUsage.UNKNOWN : usage;
        provenance = provenance == null ? Provenance.NONE : provenance;
    }

    /** An answer whose provider reported nothing about itself. */
    public InferenceOutput(String text, String finishReason, TokenUsage usage) {
        this(text, finishReason, usage, Provenance.NONE);
    }
}
