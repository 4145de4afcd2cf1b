package dev.beacon.runner.web.http;

import dev.beacon.runner.core.service.JobAlreadyTerminalException;
import dev.beacon.runner.core.service.JobNotFoundException;
import dev.beacon.runner.core.service.JobNotRetryableException;
import dev.beacon.runner.core.service.JobNotTerminalException;
import dev.beacon.runner.core.spec.FieldError;
import dev.beacon.runner.core.spec.SpecValidationException;
import dev.beacon.runner.core.store.IdempotencyConflictException;
import dev.beacon.runner.core.store.StoreUnavailableException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.converter.json.ProblemDetailJacksonMixin;
import org.springframework.web.ErrorResponse;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Mono;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns every failure of the runner's handlers into an RFC 9457 {@code application/problem+json}
 * response: Spring's {@link ProblemDetail} ({@code type}, {@code title}, {@code status}, {@code detail},
 * {@code instance}) with an {@code errors} array of {@code {field, message}}. As a filter it wraps the
 * runner's routes only; a host's own routes keep the host's error handling.
 *
 * <p>Known outcomes map to 4xx: validation 400, not found 404, conflicts 409, a body over the limit
 * 413. A store that cannot be reached or does not answer in time is a 503 with {@code Retry-After}.
 * Anything else is a fault of the runner: 500, logged with its stack trace, with a detail that
 * reveals nothing internal.
 */
final class ProblemResponses implements HandlerFilterFunction<ServerResponse, ServerResponse> {

    static final MediaType PROBLEM_JSON = MediaType.APPLICATION_PROBLEM_JSON;
    private static final Logger log = LoggerFactory.getLogger(ProblemResponses.class);

    /**
     * The runner's own mapper, not the host's: a host's naming strategy or inclusion rules must not
     * change the problem format, and Boot's mapper lacks the {@code ProblemDetail} mix-in in some
     * versions (spring-boot#47298). Members in RFC 9457's order, then {@code errors}.
     */
    private final JsonMapper mapper = JsonMapper.builder()
            .addMixIn(ProblemDetail.class, ProblemDetailJacksonMixin.class)
            .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .build();

    /** Handles the request; on error emits the problem response instead; on cancel nothing is written. */
    @Override
    public Mono<ServerResponse> filter(ServerRequest request, HandlerFunction<ServerResponse> next) {
        return Mono.defer(() -> next.handle(request)).onErrorResume(e -> render(request, e));
    }

    Mono<ServerResponse> render(ServerRequest request, Throwable error) {
        return respond(request, toProblem(request, error));
    }

    Mono<ServerResponse> respond(ServerRequest request, ErrorResponse problem) {
        ProblemDetail body = problem.getBody();
        body.setInstance(instance(request.path()));
        return ServerResponse.status(problem.getStatusCode())
                .contentType(PROBLEM_JSON)
                .headers(h -> h.addAll(problem.getHeaders()))
                .bodyValue(mapper.writeValueAsBytes(body));
    }

    /** The request's path as the problem's {@code instance}; a raw path that is no valid URI is encoded, {@code null} if it cannot be. */
    static @Nullable URI instance(String path) {
        try {
            return new URI(path);
        } catch (URISyntaxException e) {
            try {
                return new URI(null, null, path, null);
            } catch (URISyntaxException unencodable) {
                return null;
            }
        }
    }

    private static ApiProblem toProblem(ServerRequest request, Throwable error) {
        if (error instanceof ApiProblem p) {
            return p;
        }
        if (error instanceof SpecValidationException e) {
            return new ApiProblem(HttpStatus.BAD_REQUEST, "invalid-job",
                    "the job was rejected: " + e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"),
                    e.errors(), Map.of());
        }
        if (error instanceof JobNotFoundException e) {
            return ApiProblem.of(HttpStatus.NOT_FOUND, "job-not-found", "no job with id " + e.jobId());
        }
        if (error instanceof JobNotRetryableException e) {
            return ApiProblem.of(HttpStatus.CONFLICT, "not-retryable", e.getMessage());
        }
        if (error instanceof JobNotTerminalException e) {
            return ApiProblem.of(HttpStatus.CONFLICT, "job-not-finished", "job " + e.jobId() + " is " + e.status()
                    + "; its evidence bundle exists once it has finished");
        }
        if (error instanceof JobAlreadyTerminalException e) {
            return ApiProblem.of(HttpStatus.CONFLICT, "job-terminal", "job " + e.jobId() + " is already " + e.status());
        }
        if (error instanceof IdempotencyConflictException e) {
            return ApiProblem.of(HttpStatus.CONFLICT, "idempotency-conflict", e.getMessage(),
                    new FieldError("Idempotency-Key", "was already used for job " + e.existing() + " with a different body"));
        }
        if (error instanceof DataBufferLimitException) {
            return ApiProblem.of(HttpStatus.CONTENT_TOO_LARGE, "body-too-large", "the request body is too large",
                    new FieldError("$", "body is larger than the limit"));
        }
        if (error instanceof ResponseStatusException e && e.getStatusCode().is4xxClientError()) {
            HttpStatus status = HttpStatus.valueOf(e.getStatusCode().value());
            return ApiProblem.of(status, "http-" + status.value(), e.getReason() == null ? status.getReasonPhrase() : e.getReason());
        }
        if (isStorageUnavailable(error)) {
            log.warn("request {} {} failed: storage unavailable: {}", request.method(), request.path(), error.toString());
            return new ApiProblem(HttpStatus.SERVICE_UNAVAILABLE, "storage-unavailable", "the job store is unavailable; retry later",
                    List.of(), Map.of(HttpHeaders.RETRY_AFTER, "5"));
        }
        log.error("request {} {} failed", request.method(), request.path(), error);
        return ApiProblem.of(HttpStatus.INTERNAL_SERVER_ERROR, "internal", "the runner could not handle this request; see its log");
    }

    /**
     * Whether {@code error} says the store cannot be reached now (it timed out, or the connection
     * failed), anywhere in its cause chain: Spring's {@code DatabaseClient} wraps driver errors.
     */
    private static boolean isStorageUnavailable(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof StoreUnavailableException || t instanceof io.r2dbc.spi.R2dbcTransientResourceException
                    || t instanceof io.r2dbc.spi.R2dbcNonTransientResourceException || t instanceof io.r2dbc.spi.R2dbcTimeoutException
                    || t instanceof org.springframework.dao.DataAccessResourceFailureException) {
                return true;
            }
        }
        return false;
    }
}
