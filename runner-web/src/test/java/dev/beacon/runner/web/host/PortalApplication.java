package dev.beacon.runner.web.host;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.provider.InferenceClient;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.service.JobService;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A host application of its own — a "portal" back end — that embeds the runner: its own routes,
 * one of which submits jobs through the runner's {@link JobService}, and its own
 * {@link InferenceClientFactory} that replaces the runner's (counting the calls it creates).
 */
@SpringBootApplication
public class PortalApplication {

    /** Calls made through the portal's own client factory. */
    public static final AtomicInteger CALLS = new AtomicInteger();

    @Bean
    InferenceClientFactory portalClients() {
        InferenceClients delegate = new InferenceClients();
        return (EndpointId endpoint, ProviderConfig provider) -> {
            InferenceClient client = delegate.create(endpoint, provider);
            return request -> client.infer(request).doOnSubscribe(s -> CALLS.incrementAndGet());
        };
    }

    @Bean
    RouterFunction<ServerResponse> portalRoutes(JobService jobs) {
        return RouterFunctions.route()
                .GET("/portal/status", request -> ServerResponse.ok().bodyValue("portal ok"))
                .POST("/portal/benchmarks", request -> request.bodyToMono(String.class)
                        .map(jobs::parse)
                        .flatMap(spec -> jobs.submit(spec, null))
                        .flatMap(submission -> ServerResponse.accepted().contentType(MediaType.TEXT_PLAIN)
                                .bodyValue(submission.job().id().toString())))
                .build();
    }
}
