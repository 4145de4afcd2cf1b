package dev.beacon.runner.core.spec;

import java.util.List;
import java.util.stream.Collectors;

/** A job spec was rejected; {@link #errors()} names every offending field. */
public final class SpecValidationException extends RuntimeException {

    private final List<FieldError> errors;

    public SpecValidationException(List<FieldError> errors) {
        super(errors.stream().map(e -> e.field() + ": " + e.message()).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
