package dev.beacon.runner.web.http;

import java.util.List;
import java.util.Objects;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Makes the runner's bearer tokens ({@code beacon.runner.security.tokens}) count as an authenticated
 * user for Spring Boot Actuator, so that {@code management.endpoint.health.show-details=when-authorized}
 * (and {@code show-components}) shows health details to a caller with a valid token and the bare status
 * to everyone else.
 *
 * <p>Actuator's WebFlux endpoints read the caller from Spring Security's reactive context; without a
 * security filter chain nothing puts one there, so {@code when-authorized} would never show anything.
 * This filter does, for requests under the management base path that carry a valid token: an
 * {@link org.springframework.security.core.Authentication} without authorities (so
 * {@code management.endpoint.health.roles} must stay empty). It never refuses a request, and it never
 * touches other paths. A host with Spring Security's web support decides on authentication itself and
 * does not get this filter.
 */
public final class ActuatorTokenAuthentication implements WebFilter {

    /** The caller presented one of the runner's tokens; which one is not kept. */
    private static final Authentication TOKEN_HOLDER =
            UsernamePasswordAuthenticationToken.authenticated("beacon-runner-token", null, List.of());

    private final BearerTokens tokens;
    private final String managementBasePath;

    /**
     * @param tokens             accepted bearer tokens; blank ones are ignored
     * @param managementBasePath Actuator's base path within the application, e.g. {@code /actuator}
     */
    public ActuatorTokenAuthentication(List<String> tokens, String managementBasePath) {
        this.tokens = new BearerTokens(Objects.requireNonNull(tokens, "tokens"), true);
        this.managementBasePath = RunnerRoutes.Settings.normalise(managementBasePath);
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (!tokens.enabled() || !underManagement(exchange)
                || !tokens.accepts(exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION))) {
            return chain.filter(exchange);
        }
        return chain.filter(exchange).contextWrite(ReactiveSecurityContextHolder.withAuthentication(TOKEN_HOLDER));
    }

    private boolean underManagement(ServerWebExchange exchange) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        return managementBasePath.isEmpty() || path.equals(managementBasePath) || path.startsWith(managementBasePath + "/");
    }
}
