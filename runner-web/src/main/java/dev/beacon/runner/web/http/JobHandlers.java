package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.service.EvidenceService;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.FieldError;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The runner's HTTP handlers: they check the request, call {@link JobService} and write the views the README's
 * API describes. Refusals are {@link ApiProblem} errors that {@link ProblemResponses} renders; nothing
 * here blocks, and nothing is stored unless the service accepted the job.
 */
final class JobHandlers {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;
    private static final int MAX_IDEMPOTENCY_KEY = 255;
    private static final Logger log = LoggerFactory.getLogger(JobHandlers.class);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);

    private final JobService service;
    /** {@code null} when the store keeps no evidence: then the evidence routes answer 404. */
    private final EvidenceService evidence;
    private static final tools.jackson.databind.json.JsonMapper RETRY_BODY = tools.jackson.databind.json.JsonMapper.builder()
            .enable(tools.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private final ExecutionExports exports;
    /** Events encoded once for all their subscribers. */
    private final EncodedEvents encoded = new EncodedEvents();
    private final JobViews views;
    private final BoundedBody body;
    private final Duration keepAlive;
    private final Mono<Void> closing;

    /** @param closing completes when open event streams must end (shutdown); clients then resume elsewhere */
    JobHandlers(JobService service, EvidenceService evidence, JobViews views, BoundedBody body, Duration keepAlive, Mono<Void> closing) {
        this.service = service;
        this.evidence = evidence;
        this.exports = new ExecutionExports(views);
        this.views = views;
        this.body = body;
        this.keepAlive = keepAlive;
        this.closing = closing;
    }

    /** {@code POST /jobs}: 202 with the queued job, 200 for an idempotent repeat. */
    Mono<ServerResponse> submit(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            requireJsonBody(request);
            String key = idempotencyKey(request);
            return body.read(request)
                    .map(service::parse)
                    .flatMap(spec -> service.submit(spec, key))
                    .flatMap(submission -> {
                        JobViews v = views.at(request);
                        JobRecord job = submission.job();
                        URI location = URI.create(v.jobPath(job.id()));
                        ServerResponse.BodyBuilder response = submission.created()
                                ? ServerResponse.accepted().location(location)
                                : ServerResponse.ok().header(HttpHeaders.CONTENT_LOCATION, location.toString());
                        return response.contentType(MediaType.APPLICATION_JSON).bodyValue(v.bytes(v.job(job)));
                    });
        });
    }

    /** {@code GET /jobs?status=&limit=&before=}: one page, newest first, with a link to the next. */
    Mono<ServerResponse> list(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            JobStatus status = request.queryParam("status").filter(s -> !s.isBlank()).map(JobHandlers::status).orElse(null);
            int limit = request.queryParam("limit").filter(s -> !s.isBlank()).map(JobHandlers::limit).orElse(DEFAULT_PAGE);
            JobId before = request.queryParam("before").filter(s -> !s.isBlank()).map(JobHandlers::before).orElse(null);
            return service.list(new JobQuery(status, limit, before)).collectList().flatMap(jobs -> {
                ObjectNode page = JsonNodeFactory.instance.objectNode();
                page.set("jobs", views.at(request).jobs(jobs));
                if (jobs.size() == limit) {
                    String next = views.at(request).jobsPath() + "?limit=" + limit + "&before=" + jobs.get(jobs.size() - 1).id()
                            + (status == null ? "" : "&status=" + status.name());
                    page.put("next", next);
                } else {
                    page.putNull("next");
                }
                return json(HttpStatus.OK, page);
            });
        });
    }

    /** {@code GET /jobs/{id}}. */
    Mono<ServerResponse> get(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            JobId id = jobId(request);
            return service.get(id).zipWith(service.retriesOf(id).collectList()).flatMap(t -> {
                var view = views.at(request).job(t.getT1());
                var retries = view.putArray("retries");
                t.getT2().forEach(r -> retries.add(r.toString()));
                return json(HttpStatus.OK, view);
            });
        });
    }

    /**
     * {@code GET /jobs/{id}/executions}: every stored row in API order (question, endpoint, sample), as
     * a JSON array, NDJSON or CSV ({@link ExecutionExports#negotiate}), streamed as the store reads
     * it; NDJSON and CSV come with a {@code Content-Disposition} file name. An unknown job is a 404
     * decided before anything is written; a store failure after the first row ends the response early
     * (the client sees a truncated body); a client that goes away cancels the reading.
     */
    Mono<ServerResponse> executions(ServerRequest request) {
        return Mono.defer(() -> {
            ExecutionExports.Format format = ExecutionExports.negotiate(request);
            JobId id = jobId(request);
            // get() first: an unknown job is a 404, not an empty list.
            return service.get(id).flatMap(job -> {
                ServerResponse.BodyBuilder ok = ServerResponse.ok().contentType(format.mediaType);
                if (format != ExecutionExports.Format.JSON) {
                    ok.header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment()
                            .filename("job-" + id + "-executions." + format.extension).build().toString());
                }
                return ok.body((message, context) -> message.writeWith(
                        exports.write(format, id, service.executions(id), message.bufferFactory())));
            });
        });
    }

    /** The statuses a retry runs again when the body does not say. */
    static final Set<ExecutionStatus> DEFAULT_RETRY = Set.of(ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CANCELLED);

    /**
     * {@code POST /jobs/{id}/retry}, optional body {@code {"statuses": [...]}}: 202 with the new job, 200
     * for an idempotent repeat, 409 when the source still runs or has nothing to run again.
     */
    Mono<ServerResponse> retry(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            JobId source = jobId(request);
            String key = idempotencyKey(request);
            return body.read(request)
                    .map(text -> retryStatuses(request, text))
                    .flatMap(statuses -> service.retry(source, statuses, key))
                    .flatMap(submission -> {
                        JobViews v = views.at(request);
                        URI location = URI.create(v.jobPath(submission.job().id()));
                        ServerResponse.BodyBuilder response = submission.created()
                                ? ServerResponse.accepted().location(location)
                                : ServerResponse.ok().header(HttpHeaders.CONTENT_LOCATION, location.toString());
                        return response.contentType(MediaType.APPLICATION_JSON).bodyValue(v.bytes(v.job(submission.job())));
                    });
        });
    }

    /** The statuses named by a retry's body; the default for an empty body. Bad input is a 400 naming the field. */
    private static Set<ExecutionStatus> retryStatuses(ServerRequest request, String text) {
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
        Set<ExecutionStatus> result = java.util.EnumSet.noneOf(ExecutionStatus.class);
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

    /** {@code POST /jobs/{id}/cancel}: 202 with the job as it is now; 409 for a terminal job. */
    Mono<ServerResponse> cancel(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            return service.cancel(jobId(request)).flatMap(job -> json(HttpStatus.ACCEPTED, views.at(request).job(job)));
        });
    }

    /** {@code GET /jobs/{id}/comparison}. */
    Mono<ServerResponse> comparison(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            JobId id = jobId(request);
            String baseline = request.queryParam("baseline").orElse(null);
            if (baseline == null) {
                return service.comparison(id).flatMap(c -> json(HttpStatus.OK, views.comparison(c)));
            }
            JobId baselineId;
            try {
                baselineId = JobId.parse(baseline);
            } catch (IllegalArgumentException e) {
                throw ApiProblem.of(HttpStatus.NOT_FOUND, "job-not-found", "no baseline job with id '" + abbreviate(baseline) + "'");
            }
            return Mono.zip(service.comparison(id), service.drift(id, baselineId))
                    .flatMap(t -> json(HttpStatus.OK, views.comparison(t.getT1(), t.getT2())));
        });
    }

    /** {@code GET /keys}: every public key that ever signed a receipt or seal in this database. */
    Mono<ServerResponse> keys(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            return evidence().keys().collectList().flatMap(keys -> json(HttpStatus.OK, views.keys(keys)));
        });
    }

    /** {@code GET /jobs/{id}/bundle}: the evidence bundle of a finished job; 409 while it runs. */
    Mono<ServerResponse> bundle(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            return evidence().bundle(jobId(request)).flatMap(b -> json(HttpStatus.OK, views.bundle(b)));
        });
    }

    private EvidenceService evidence() {
        if (evidence == null) {
            throw ApiProblem.of(HttpStatus.NOT_FOUND, "no-evidence", "this runner's store keeps no keys or seals");
        }
        return evidence;
    }

    /**
     * {@code GET /endpoints}: configured endpoints with circuit state and load, no secrets; provider URLs
     * (host names of other machines) only for an authorised caller.
     */
    Mono<ServerResponse> endpoints(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            return json(HttpStatus.OK, views.endpoints(service.endpoints(), BearerTokens.isAuthorised(request)));
        });
    }

    /**
     * {@code GET /jobs/{id}/events}: stored events after {@code Last-Event-ID} (or {@code ?after=}),
     * then live ones, each as {@code id: seq / event: type / data: one-line JSON}; a
     * {@code : keep-alive} comment every {@code keepAlive} (a keep-alive that comes while the client
     * has not taken the last one is dropped, never queued); the response completes after
     * {@code job.finished}. An unknown job is a 404 problem, decided before the stream starts.
     *
     * <p>On shutdown, and if the event source fails mid-stream, the response ends (the client resumes with
     * {@code Last-Event-ID}); when the client goes away the subscription to the job's events is
     * cancelled and the job is not affected.
     */
    Mono<ServerResponse> events(ServerRequest request) {
        return Mono.defer(() -> {
            accepts(request, MediaType.TEXT_EVENT_STREAM);
            JobId id = jobId(request);
            long after = resumeAfter(request);
            return service.get(id).flatMap(job -> {
                // The service's stream also ends for a cursor at or past job.finished: the job's shared
                // feed sees the terminal event and completes every subscriber.
                // Frames are encoded once per event for every subscriber (EncodedEvents) and written as
                // they are, one flush each.
                Flux<byte[]> events = service.events(id, after)
                        .map(event -> encoded.frame(event, this::frame))
                        .onErrorResume(e -> {
                            log.warn("event stream of job {} ended early: {}", id, e.toString());
                            return Flux.empty();
                        });
                Flux<byte[]> stream = events.publish(shared -> Flux.merge(
                        shared,
                        Flux.interval(keepAlive).onBackpressureDrop().map(tick -> KEEP_ALIVE).takeUntilOther(shared.ignoreElements())))
                        .takeUntilOther(closing);
                return ServerResponse.ok()
                        .contentType(MediaType.TEXT_EVENT_STREAM)
                        .header(HttpHeaders.CACHE_CONTROL, "no-cache")
                        .header("X-Accel-Buffering", "no")
                        .body((message, context) -> message.writeAndFlushWith(
                                stream.map(frame -> Mono.just(message.bufferFactory().wrap(frame)))));
            });
        });
    }

    /** One event as its SSE frame: {@code id:}, {@code event:} and a one-line {@code data:}, then a blank line. */
    private byte[] frame(StoredEvent event) {
        return ("id:" + event.seq() + "\nevent:" + event.type() + "\ndata:" + views.line(views.eventData(event)) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static long resumeAfter(ServerRequest request) {
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
    private static JobId jobId(ServerRequest request) {
        String text = request.pathVariable("id");
        try {
            return JobId.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiProblem.of(HttpStatus.NOT_FOUND, "job-not-found", "no job with id '" + abbreviate(text) + "'");
        }
    }

    private static JobStatus status(String text) {
        try {
            return JobStatus.valueOf(text.strip().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiProblem.badRequest("status", "must be one of " + Arrays.stream(JobStatus.values()).map(Enum::name)
                    .collect(Collectors.joining(", ")) + ", but was '" + abbreviate(text) + "'");
        }
    }

    private static int limit(String text) {
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

    private static JobId before(String text) {
        try {
            return JobId.parse(text.strip());
        } catch (IllegalArgumentException e) {
            throw ApiProblem.badRequest("before", "must be a job id, but was '" + abbreviate(text) + "'");
        }
    }

    private static String idempotencyKey(ServerRequest request) {
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
    private static void requireJsonBody(ServerRequest request) {
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
                || "application".equalsIgnoreCase(t.getType()) && t.getSubtype().toLowerCase(java.util.Locale.ROOT).endsWith("+json");
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
                List.of(new FieldError("Content-Type", message)), java.util.Map.of(HttpHeaders.ACCEPT, MediaType.APPLICATION_JSON_VALUE));
    }

    private static void acceptsJson(ServerRequest request) {
        accepts(request, MediaType.APPLICATION_JSON);
    }

    /** Refuses with 406 a request whose {@code Accept} admits neither {@code produced} nor problem+json. */
    private static void accepts(ServerRequest request, MediaType produced) {
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

    private Mono<ServerResponse> json(HttpStatus status, JsonNode node) {
        return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON).bodyValue(views.bytes(node));
    }

    /** Echoes at most 100 characters of client input in messages. */
    static String abbreviate(String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= 100 ? text : text.substring(0, 100) + "…";
    }
}
