package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.spec.FieldError;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a request to the runner's API says — the job id of its path, its query parameters, its
 * headers, a retry's body — read and checked. Whatever is wrong is thrown as an {@link ApiProblem}
 * that names the field, echoing at most 100 characters of what the client sent.
 */
final class ApiRequests {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;
    /** The statuses a retry runs again when the body does not say. */
    static final Set<ExecutionStatus> DEFAULT_RETRY = Set.of(ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CANCELLED);
    private static final int MAX_IDEMPOTENCY_KEY = 255;
    /** A repeated field in a retry's body is refused rather than read as its last value. */
    private static final JsonMapper RETRY_BODY = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private ApiRequests() {
    }

    static long resumeAfter(ServerRequest request) {
        String header = request.headers().firstHeader("Last-Event-ID");
        if (header != null && !header.isBlank()) {
            return sequence("Last-Event-ID", header);
        }
        return request.queryParam("after").filter(s -> !s.isBlank()).map(s -> sequence("after", s)).orElse(0L);
    }

    private static long sequence(String field, String text) {
        try {
            long value = Long.parseLong(text.strip());
            if (value < 0) {
                throw ApiProblem.badRequest(field, "must be an event sequence number >= 0, but was " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw ApiProblem.badRequest(field, "must be an event sequence number >= 0, but was '" + abbreviate(text) + "'");
        }
    }

    /**
     * The job id of the path. A text that is not a UUID cannot name a job, so it is answered like any
     * unknown id: 404.
     */
    static JobId jobId(ServerRequest request) {
        String text = request.pathVariable("id");
        try {
            return JobId.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiProblem.of(HttpStatus.NOT_FOUND, "job-not-found", "no job with id '" + abbreviate(text) + "'");
        }
    }

    static JobStatus status(String text) {
        try {
            return JobStatus.valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiProblem.badRequest("status", "must be one of " + Arrays.stream(JobStatus.values()).map(Enum::name)
                    .collect(Collectors.joining(", ")) + ", but was '" + abbreviate(text) + "'");
        }
    }

    static int limit(String text) {
        try {
            int value = Integer.parseInt(text.strip());
            if (value >= 1 && value <= MAX_PAGE) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiProblem.badRequest("limit", "must be an integer between 1 and " + MAX_PAGE + ", but was '" + abbreviate(text) + "'");
    }

    static JobId before(String text) {
        try {
            return JobId.parse(text.strip());
        } catch (IllegalArgumentException e) {
            throw ApiProblem.badRequest("before", "must be a job id, but was '" + abbreviate(text) + "'");
        }
    }

    /** The request's {@code Idempotency-Key}, or {@code null} when it sends none. */
    static @Nullable String idempotencyKey(ServerRequest request) {
        List<String> values = request.headers().header("Idempotency-Key");
        if (values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw ApiProblem.badRequest("Idempotency-Key", "must be sent once, but was sent " + values.size() + " times");
        }
        String key = values.get(0).strip();
        if (key.isEmpty() || key.length() > MAX_IDEMPOTENCY_KEY) {
            throw ApiProblem.badRequest("Idempotency-Key", "must be 1-" + MAX_IDEMPOTENCY_KEY + " characters, but was " + key.length());
        }
        return key;
    }

    /** Refuses with 415 a body that is not declared as UTF-8 JSON ({@code application/json} or {@code application/*+json}). */
    static void requireJsonBody(ServerRequest request) {
        Optional<MediaType> type;
        try {
            type = request.headers().contentType();
        } catch (RuntimeException e) {
            throw unsupported("a valid Content-Type header");
        }
        if (type.isEmpty()) {
            throw unsupported("none");
        }
        MediaType t = type.get();
        boolean json = MediaType.APPLICATION_JSON.isCompatibleWith(t) && !t.isWildcardType() && !t.isWildcardSubtype()
                || "application".equalsIgnoreCase(t.getType()) && t.getSubtype().toLowerCase(Locale.ROOT).endsWith("+json");
        Charset charset;
        try {
            charset = t.getCharset();
        } catch (RuntimeException e) {
            throw unsupported(t.toString());
        }
        if (!json || (charset != null && !StandardCharsets.UTF_8.equals(charset))) {
            throw unsupported(abbreviate(t.toString()));
        }
    }

    private static ApiProblem unsupported(String actual) {
        String message = "must be application/json (UTF-8), but was " + actual;
        return new ApiProblem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Content-Type " + message,
                List.of(new FieldError("Content-Type", message)), Map.of(HttpHeaders.ACCEPT, MediaType.APPLICATION_JSON_VALUE));
    }

    static void acceptsJson(ServerRequest request) {
        accepts(request, MediaType.APPLICATION_JSON);
    }

    /** Refuses with 406 a request whose {@code Accept} admits neither {@code produced} nor problem+json. */
    static void accepts(ServerRequest request, MediaType produced) {
        List<MediaType> accepted;
        try {
            accepted = request.headers().accept();
        } catch (RuntimeException e) {
            return; // an unreadable Accept header is treated as absent
        }
        if (accepted.isEmpty() || accepted.stream().anyMatch(a -> a.isCompatibleWith(produced))) {
            return;
        }
        throw ApiProblem.of(HttpStatus.NOT_ACCEPTABLE, "not-acceptable", "this resource is only available as " + produced,
                new FieldError("Accept", "must accept " + produced + ", but was " + abbreviate(request.headers().firstHeader(HttpHeaders.ACCEPT))));
    }

    /** The statuses named by a retry's body; the default for an empty body. Bad input is a 400 naming the field. */
    static Set<ExecutionStatus> retryStatuses(ServerRequest request, String text) {
        if (text.isBlank()) {
            return DEFAULT_RETRY;
        }
        requireJsonBody(request);
        JsonNode root;
        try {
            root = RETRY_BODY.readTree(text);
        } catch (RuntimeException e) {
            throw ApiProblem.badRequest("$", "malformed JSON");
        }
        if (root == null || !root.isObject()) {
            throw ApiProblem.badRequest("$", "must be a JSON object {\"statuses\": [...]}");
        }
        for (String field : root.propertyNames()) {
            if (!field.equals("statuses")) {
                throw ApiProblem.badRequest(field, "unknown field; allowed: statuses");
            }
        }
        JsonNode statuses = root.path("statuses");
        if (statuses.isMissingNode()) {
            return DEFAULT_RETRY;
        }
        if (!statuses.isArray() || statuses.isEmpty()) {
            throw ApiProblem.badRequest("statuses", "must be a non-empty array of execution statuses");
        }
        Set<ExecutionStatus> result = EnumSet.noneOf(ExecutionStatus.class);
        for (int i = 0; i < statuses.size(); i++) {
            JsonNode s = statuses.get(i);
            try {
                result.add(ExecutionStatus.valueOf(s.isString() ? s.stringValue() : "?"));
            } catch (IllegalArgumentException e) {
                throw ApiProblem.badRequest("statuses[" + i + "]", "must be one of SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, but was "
                        + abbreviate(s.toString()));
            }
        }
        return result;
    }

    /** Echoes at most 100 characters of client input in messages. */
    static String abbreviate(@Nullable String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= 100 ? text : text.substring(0, 100) + "…";
    }
}
