package dev.beacon.runner.web.http;

import static dev.beacon.runner.web.http.ApiRequests.accepts;
import static dev.beacon.runner.web.http.ApiRequests.acceptsJson;
import static dev.beacon.runner.web.http.ApiRequests.abbreviate;
import static dev.beacon.runner.web.http.ApiRequests.idempotencyKey;
import static dev.beacon.runner.web.http.ApiRequests.jobId;
import static dev.beacon.runner.web.http.ApiRequests.requireJsonBody;
import static dev.beacon.runner.web.http.ApiRequests.resumeAfter;

import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.service.EvidenceService;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.FieldError;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.Submission;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Optional;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
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

    private static final Logger log = LoggerFactory.getLogger(JobHandlers.class);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);
    /** Marks the end of a response's events in its merge with the keep-alives; compared by identity, never written. */
    private static final byte[] END = new byte[0];

    private final JobService service;
    /** {@code null} when the store keeps no evidence: then the evidence routes answer 404. */
    private final @Nullable EvidenceService evidence;
    private final ExecutionExports exports;
    /** Events encoded once for all their subscribers. */
    private final EncodedEvents encoded = new EncodedEvents();
    private final JobViews views;
    private final BoundedBody body;
    private final Duration keepAlive;
    private final Mono<Void> closing;

    /** @param closing completes when open event streams must end (shutdown); clients then resume elsewhere */
    JobHandlers(JobService service, @Nullable EvidenceService evidence, JobViews views, BoundedBody body, Duration keepAlive,
                Mono<Void> closing) {
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
                    .flatMap(submission -> submitted(request, submission));
        });
    }

    /** A new job as 202 with its {@code Location}; an idempotent repeat as 200 with its {@code Content-Location}. */
    private Mono<ServerResponse> submitted(ServerRequest request, Submission submission) {
        JobViews v = views.at(request);
        JobRecord job = submission.job();
        URI location = URI.create(v.jobPath(job.id()));
        ServerResponse.BodyBuilder response = submission.created()
                ? ServerResponse.accepted().location(location)
                : ServerResponse.ok().header(HttpHeaders.CONTENT_LOCATION, location.toString());
        return response.contentType(MediaType.APPLICATION_JSON).bodyValue(v.bytes(v.job(job)));
    }

    /** {@code GET /jobs?status=&limit=&before=}: one page, newest first, with a link to the next. */
    Mono<ServerResponse> list(ServerRequest request) {
        return Mono.defer(() -> {
            acceptsJson(request);
            JobStatus status = request.queryParam("status").filter(s -> !s.isBlank()).map(ApiRequests::status).orElse(null);
            int limit = request.queryParam("limit").filter(s -> !s.isBlank()).map(ApiRequests::limit).orElse(ApiRequests.DEFAULT_PAGE);
            JobId before = request.queryParam("before").filter(s -> !s.isBlank()).map(ApiRequests::before).orElse(null);
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
                    .map(text -> ApiRequests.retryStatuses(request, text))
                    .flatMap(statuses -> service.retry(source, statuses, key))
                    .flatMap(submission -> submitted(request, submission));
        });
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
                // Each batch the service read is encoded once for every subscriber (EncodedEvents) and
                // written as it is, one flush per batch.
                Flux<byte[]> events = service.eventBatches(id, after)
                        .map(batch -> encoded.frames(batch, this::frame))
                        .onErrorResume(e -> {
                            log.warn("event stream of job {} ended early: {}", id, e.toString());
                            return Flux.empty();
                        });
                // Keep-alives stop with the events: END marks their end and is never written. A merge,
                // not a publish of the events, because this runs per subscriber and per batch.
                Flux<byte[]> keepAlives = Flux.interval(keepAlive).onBackpressureDrop().map(tick -> KEEP_ALIVE);
                Flux<byte[]> stream = Flux.merge(events.concatWith(Mono.just(END)), keepAlives)
                        .takeWhile(frame -> frame != END)
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

    private Mono<ServerResponse> json(HttpStatus status, JsonNode node) {
        return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON).bodyValue(views.bytes(node));
    }


}
