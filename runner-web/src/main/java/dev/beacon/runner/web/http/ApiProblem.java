package dev.beacon.runner.web.http;

import dev.beacon.runner.core.spec.FieldError;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;

/**
 * A request the runner refuses, as an exception that {@link ProblemResponses} turns into an RFC 9457
 * {@code application/problem+json} response. Carries no stack trace: it is an outcome, not a fault.
 *
 * @param headers extra response headers, e.g. {@code WWW-Authenticate}
 */
final class ApiProblem extends RuntimeException {

    private final HttpStatus status;
    private final String kind;
    private final List<FieldError> errors;
    private final Map<String, String> headers;

    ApiProblem(HttpStatus status, String kind, String detail, List<FieldError> errors, Map<String, String> headers) {
        super(detail, null, false, false);
        this.status = status;
        this.kind = kind;
        this.errors = List.copyOf(errors);
        this.headers = Map.copyOf(headers);
    }

    static ApiProblem of(HttpStatus status, String kind, String detail, FieldError... errors) {
        return new ApiProblem(status, kind, detail, List.of(errors), Map.of());
    }

    static ApiProblem badRequest(String field, String message) {
        return of(HttpStatus.BAD_REQUEST, "invalid-request", field + ": " + message, new FieldError(field, message));
    }

    HttpStatus status() {
        return status;
    }

    /** Short name of the problem type, the last segment of its {@code type} URI. */
    String kind() {
        return kind;
    }

    List<FieldError> errors() {
        return errors;
    }

    Map<String, String> headers() {
        return headers;
    }
}
