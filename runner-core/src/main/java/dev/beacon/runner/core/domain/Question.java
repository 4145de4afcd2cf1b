package dev.beacon.runner.core.domain;

/** One question of a job; {@code id} is unique within the job. */
public record Question(String id, String text) {

    public Question {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("question id must not be blank, but was '" + id + "'");
        }
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("question text must not be blank");
        }
    }
}
