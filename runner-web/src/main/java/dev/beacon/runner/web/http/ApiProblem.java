package dev.beacon.runner.web.http;

import dev.beacon.runner.core.spec.FieldError;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponse;

/**
 * A request the runner refuses, as Spring's {@link ErrorResponse}: {@link ProblemResponses} writes its
 * {@link #getBody() ProblemDetail} as an RFC 9457 {@code application/problem+json} response, with the
 * offending fields in an {@code errors} property. Carries no stack trace: it is an outcome, not a fault.
 */
final class ApiProblem extends RuntimeException implements ErrorResponse {

    /** The prefix of every problem {@code type}; the problem's kind follows it. */
    static final String TYPE_PREFIX = "urn:problem:beacon-runner:";

    private final HttpStatus status;
    private final String kind;
    private final List<FieldError> errors;
    private final HttpHeaders headers = new HttpHeaders();

    /** @param headers extra response headers, e.g. {@code WWW-Authenticate} */
    ApiProblem(HttpStatus status, String kind, @Nullable String detail, List<FieldError> errors, Map<String, String> headers) {
        super(detail, null, false, false);
        this.status = status;
        this.kind = kind;
        this.errors = List.copyOf(errors);
        headers.forEach(this.headers::set);
    }

    static ApiProblem of(HttpStatus status, String kind, @Nullable String detail, FieldError... errors) {
        return new ApiProblem(status, kind, detail, List.of(errors), Map.of());
    }

    static ApiProblem badRequest(String field, String message) {
        return of(HttpStatus.BAD_REQUEST, "invalid-request", field + ": " + message, new FieldError(field, message));
    }

    @Override
    public HttpStatusCode getStatusCode() {
        return status;
    }

    @Override
    public HttpHeaders getHeaders() {
        return HttpHeaders.readOnlyHttpHeaders(headers);
    }

    /**
     * A new problem detail each call (the renderer sets its {@code instance}): {@code type} names the
     * kind, {@code title} is the status's reason phrase, {@code errors} lists each offending field.
     */
    @Override
    public ProblemDetail getBody() {
        ProblemDetail body = ProblemDetail.forStatusAndDetail(status, getMessage());
        body.setType(URI.create(TYPE_PREFIX + kind));
        body.setTitle(status.getReasonPhrase());
        body.setProperty("errors", errors);
        return body;
    }

    /** Short name of the problem type, the last segment of its {@code type} URI. */
    String kind() {
        return kind;
    }

    List<FieldError> errors() {
        return errors;
    }
}
