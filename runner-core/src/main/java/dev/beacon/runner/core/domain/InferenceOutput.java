package dev.beacon.runner.core.domain;

import java.util.Objects;

/** What a model answered: the text, why it stopped, and the tokens it used. */
public record InferenceOutput(String text, String finishReason, TokenUsage usage) {

    public InferenceOutput {
        Objects.requireNonNull(text, "text");
        usage = usage == null ? TokenUsage.UNKNOWN : usage;
    }
}
