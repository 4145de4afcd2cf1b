package dev.beacon.runner.core.domain;

import java.util.Objects;

/** The (question, endpoint) pair that one execution fills. */
public record Cell(String questionId, EndpointId endpoint) {

    public Cell {
        Objects.requireNonNull(questionId, "questionId");
        Objects.requireNonNull(endpoint, "endpoint");
    }

    @Override
    public String toString() {
        return questionId + "/" + endpoint;
    }
}
