package dev.beacon.runner.core.provider;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/** Provider calls are metered by Reactor Netty with the URI reduced to the protocol route. */
class ProviderClientMetricsTest {

    @Test
    void providerCallsAreMeteredWithTheRouteNotTheFullUrl() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Metrics.addRegistry(registry);
        DisposableServer server = HttpServer.create().host("127.0.0.1").port(0)
                .route(r -> r.post("/tenant-42/v1/chat/completions", (req, res) -> req.receive().then(res.header("Content-Type", "application/json")
                        .sendString(Mono.just("{\"choices\":[{\"message\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}")).then())))
                .bindNow();
        try (InferenceClients clients = new InferenceClients()) {
            ProviderConfig config = new ProviderConfig("p", ProviderType.OPENAI, URI.create("http://127.0.0.1:" + server.port() + "/tenant-42"),
                    null, null, 4, Duration.ofSeconds(5), null);
            clients.create(new EndpointId("m", "eu"), config)
                    .infer(new InferenceRequest("m", "eu", null, "hello", 0.1, 10, null))
                    .block(Duration.ofSeconds(10));

            assertThat(registry.getMeters()).map(Meter::getId)
                    .anySatisfy(id -> {
                        assertThat(id.getName()).startsWith("reactor.netty.http.client");
                        assertThat(id.getTag("uri")).isEqualTo("/v1/chat/completions");
                    })
                    .noneSatisfy(id -> assertThat(id.getTag("uri")).contains("tenant-42"));
        } finally {
            server.disposeNow();
            Metrics.removeRegistry(registry);
        }
    }

    @Test
    void routesOfEveryProtocolAreBounded() {
        assertThat(InferenceClients.routeOf("/a/b/v1/chat/completions")).isEqualTo("/v1/chat/completions");
        assertThat(InferenceClients.routeOf("/api/chat")).isEqualTo("/api/chat");
        assertThat(InferenceClients.routeOf("/some/modal/path/123")).isEqualTo("/");
    }
}
