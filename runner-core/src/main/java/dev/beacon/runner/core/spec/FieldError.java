package dev.beacon.runner.core.spec;

/** One thing wrong with a submitted job: the JSON path of the field and what is wrong with it. */
public record FieldError(String field, String message) {
}
