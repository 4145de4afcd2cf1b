package dev.beacon.runner.core.domain;

import java.util.Objects;

/**
 * The (question, endpoint, sample) that one execution fills.
 *
 * @param sample which repetition of the question at this endpoint, numbered from 0
 */
public record Cell(String questionId, EndpointId endpoint, int sample) {

    public Cell {
        Objects.requireNonNull(questionId, "questionId");
        Objects.requireNonNull(endpoint, "endpoint");
        if (sample < 0) {
            throw new IllegalArgumentException("sample must be >= 0, but was " + sample);
        }
    }

    /** Sample 0 of a question at an endpoint: the only cell a one-sample job has there. */
    public Cell(String questionId, EndpointId endpoint) {
        this(questionId, endpoint, 0);
    }

    @Override
    public String toString() {
        return questionId + "/" + endpoint + "#" + sample;
    }
}
