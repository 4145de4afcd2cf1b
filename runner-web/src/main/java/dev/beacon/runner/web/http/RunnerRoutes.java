package dev.beacon.runner.web.http;

import dev.beacon.runner.core.service.EvidenceService;
import dev.beacon.runner.core.service.JobService;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * Builds the runner's HTTP API (README, API) as one functional {@link RouterFunction} over a
 * {@link JobService}. Every route lives under {@code basePath}; errors become
 * {@code application/problem+json}; the bearer-token check and the error mapping are filters on these
 * routes only, so a host application's own routes, error handling and security are untouched.
 *
 * <p>A known path with a method it does not serve answers 405 with an {@code Allow} header.
 */
public final class RunnerRoutes {

    private RunnerRoutes() {
    }

    /**
     * What the routes need besides the service.
     *
     * @param basePath     prefix of every route: empty, or starting with {@code /} and not ending with one
     * @param maxBodyBytes largest accepted request body
     * @param sseKeepAlive interval of the keep-alive comment on an idle event stream
     * @param tokens       accepted bearer tokens; blank ones are ignored; none means open
     * @param openReads    whether reads pass without a token when tokens are configured
     */
    public record Settings(String basePath, long maxBodyBytes, Duration sseKeepAlive, List<String> tokens, boolean openReads) {

        public Settings {
            basePath = normalise(basePath);
            Objects.requireNonNull(sseKeepAlive, "sseKeepAlive");
            if (sseKeepAlive.isNegative() || sseKeepAlive.isZero()) {
                throw new IllegalArgumentException("sseKeepAlive must be positive, but was " + sseKeepAlive);
            }
            if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("maxBodyBytes must be between 1 and 2 GiB, but was " + maxBodyBytes);
            }
            tokens = tokens == null ? List.of() : tokens.stream().filter(t -> t != null && !t.isBlank()).toList();
        }

        /** Whether any token is configured, i.e. whether the API is protected. */
        public boolean secured() {
            return !tokens.isEmpty();
        }

        /** Hides the tokens. */
        @Override
        public String toString() {
            return "Settings[basePath=" + basePath + ", maxBodyBytes=" + maxBodyBytes + ", sseKeepAlive=" + sseKeepAlive
                    + ", tokens=" + tokens.size() + ", openReads=" + openReads + "]";
        }

        static String normalise(String path) {
            String p = path == null ? "" : path.strip();
            while (p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            if (!p.isEmpty() && !p.startsWith("/")) {
                p = "/" + p;
            }
            return p;
        }
    }

    /** The router for {@code service} with {@code settings}; event streams end only with their job; no evidence routes. */
    public static RouterFunction<ServerResponse> create(JobService service, Settings settings) {
        return create(service, null, settings, Mono.never());
    }

    /**
     * The router for {@code service} with {@code settings}; every open event stream completes when
     * {@code closeStreams} signals (use it on shutdown, so that graceful shutdown need not wait for
     * long-lived streams; clients resume with {@code Last-Event-ID}).
     */
    public static RouterFunction<ServerResponse> create(JobService service, Settings settings, Mono<?> closeStreams) {
        return create(service, null, settings, closeStreams);
    }

    /**
     * As {@link #create(JobService, Settings, Mono)}, with {@code GET /keys} and {@code GET /jobs/{id}/bundle}
     * served by {@code evidence} ({@code null}: those routes answer 404).
     */
    public static RouterFunction<ServerResponse> create(JobService service, @Nullable EvidenceService evidence, Settings settings,
                                                        Mono<?> closeStreams) {
        String base = settings.basePath();
        JobHandlers h = new JobHandlers(service, evidence, new JobViews(base), new BoundedBody(settings.maxBodyBytes()), settings.sseKeepAlive(),
                closeStreams.then());
        ProblemResponses problems = new ProblemResponses();
        BearerTokens tokens = new BearerTokens(settings.tokens(), settings.openReads());
        String jobs = base + "/jobs";
        String job = jobs + "/{id}";
        return RouterFunctions.route()
                .POST(jobs, h::submit)
                .GET(jobs, h::list)
                .GET(job, h::get)
                .GET(job + "/executions", h::executions)
                .GET(job + "/events", h::events)
                .POST(job + "/cancel", h::cancel)
                .POST(job + "/retry", h::retry)
                .GET(job + "/comparison", h::comparison)
                .GET(job + "/bundle", h::bundle)
                .GET(base + "/endpoints", h::endpoints)
                .GET(base + "/keys", h::keys)
                .route(RequestPredicates.path(jobs), notAllowed(HttpMethod.GET, HttpMethod.POST))
                .route(RequestPredicates.path(job), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(job + "/executions"), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(job + "/events"), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(job + "/cancel"), notAllowed(HttpMethod.POST))
                .route(RequestPredicates.path(job + "/retry"), notAllowed(HttpMethod.POST))
                .route(RequestPredicates.path(job + "/comparison"), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(base + "/endpoints"), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(job + "/bundle"), notAllowed(HttpMethod.GET))
                .route(RequestPredicates.path(base + "/keys"), notAllowed(HttpMethod.GET))
                // Anything else under the runner's paths is the runner's 404, as a problem too.
                .route(RequestPredicates.path(jobs + "/**").or(RequestPredicates.path(base + "/endpoints/**")).or(RequestPredicates.path(base + "/keys/**")), request -> Mono.error(
                        ApiProblem.of(HttpStatus.NOT_FOUND, "not-found", "no such resource: " + ApiRequests.abbreviate(request.path()))))
                // The first filter is the outermost: the token check runs inside the error mapping, so its
                // refusal is rendered as a problem response too.
                .filter(problems)
                .filter(tokens)
                .build();
    }

    private static HandlerFunction<ServerResponse> notAllowed(HttpMethod... allowed) {
        String allow = String.join(", ", java.util.Arrays.stream(allowed).map(HttpMethod::name).toList());
        return request -> Mono.error(new ApiProblem(HttpStatus.METHOD_NOT_ALLOWED, "method-not-allowed",
                request.method().name() + " is not supported here; allowed: " + allow, List.of(),
                java.util.Map.of(HttpHeaders.ALLOW, allow)));
    }
}
