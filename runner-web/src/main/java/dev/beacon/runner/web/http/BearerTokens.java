package dev.beacon.runner.web.http;

import dev.beacon.runner.core.evidence.Sha256;
import dev.beacon.runner.core.spec.FieldError;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * Checks {@code Authorization: Bearer <token>} on the runner's routes only (a host's own routes and
 * security are never touched). Mutating requests always need a configured token; reads need one
 * unless {@code openReads}. With no token configured every request passes.
 *
 * <p>Every request that passes is marked with whether its caller is authorised ({@link #isAuthorised}):
 * it presented a valid token, or no token is configured at all (the API is open). An anonymous open
 * read passes but is not authorised, and views leave machine details (provider URLs) out for it.
 *
 * <p>Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual}, so the time taken
 * reveals neither the length nor a matching prefix of a token. Tokens are never logged.
 */
final class BearerTokens implements HandlerFilterFunction<ServerResponse, ServerResponse> {

    /** The request attribute that says whether the caller is authorised. */
    static final String AUTHORISED = BearerTokens.class.getName() + ".authorised";

    private final List<byte[]> digests;
    private final boolean openReads;

    BearerTokens(List<String> tokens, boolean openReads) {
        this.digests = tokens.stream().filter(t -> t != null && !t.isBlank()).map(t -> sha256(t.strip())).toList();
        this.openReads = openReads;
    }

    boolean enabled() {
        return !digests.isEmpty();
    }

    /** Passes the request on if allowed; otherwise errors with a 401 {@link ApiProblem}. */
    @Override
    public Mono<ServerResponse> filter(ServerRequest request, HandlerFunction<ServerResponse> next) {
        if (!enabled()) {
            request.attributes().put(AUTHORISED, true);
            return next.handle(request);
        }
        if (openReads && isRead(request.method())) {
            request.attributes().put(AUTHORISED, accepts(request.headers().firstHeader(HttpHeaders.AUTHORIZATION)));
            return next.handle(request);
        }
        String header = request.headers().firstHeader(HttpHeaders.AUTHORIZATION);
        if (header == null || header.isBlank()) {
            return Mono.error(unauthorized(null, "a bearer token is required: send 'Authorization: Bearer <token>'"));
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Mono.error(unauthorized("invalid_request", "the Authorization header must use the Bearer scheme"));
        }
        if (!matches(header.substring(7).strip())) {
            return Mono.error(unauthorized("invalid_token", "the bearer token is not valid"));
        }
        request.attributes().put(AUTHORISED, true);
        return next.handle(request);
    }

    /** Whether {@code authorization} (an {@code Authorization} header value, or {@code null}) carries a configured token. */
    boolean accepts(@Nullable String authorization) {
        return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                && matches(authorization.substring(7).strip());
    }

    /** Whether this filter found the caller of {@code request} authorised; {@code false} if it did not see the request. */
    static boolean isAuthorised(ServerRequest request) {
        return Boolean.TRUE.equals(request.attributes().get(AUTHORISED));
    }

    private boolean matches(String token) {
        if (token.isEmpty()) {
            return false;
        }
        byte[] presented = sha256(token);
        boolean match = false;
        for (byte[] digest : digests) {
            // No early exit: every configured token is compared.
            match |= MessageDigest.isEqual(digest, presented);
        }
        return match;
    }

    private static boolean isRead(HttpMethod method) {
        return HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method) || HttpMethod.OPTIONS.equals(method);
    }

    /** @param error the RFC 6750 error code, or {@code null} when the request carried no credentials */
    private static ApiProblem unauthorized(@Nullable String error, String message) {
        String challenge = error == null ? "Bearer realm=\"beacon-runner\"" : "Bearer realm=\"beacon-runner\", error=\"" + error + "\"";
        return new ApiProblem(HttpStatus.UNAUTHORIZED, "unauthorized", message,
                List.of(new FieldError("Authorization", message)), Map.of(HttpHeaders.WWW_AUTHENTICATE, challenge));
    }

    private static byte[] sha256(String text) {
        return Sha256.digest(text);
    }
}
