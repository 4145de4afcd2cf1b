package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.service.JobService;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * A host application that embeds the runner under a base path keeps its own routes as they are: the
 * runner's token check and problem responses apply to the runner's routes only, and the host can call
 * the {@link JobService} directly.
 */
@SpringBootTest(classes = HostEmbeddingTest.Host.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.security.tokens=host-token",
        "beacon.runner.security.open-reads=false",
        "beacon.runner.web.base-path=/bench"})
class HostEmbeddingTest {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class Host {

        @Bean
        RouterFunction<ServerResponse> hostRoutes() {
            return RouterFunctions.route()
                    .GET("/hello", request -> ServerResponse.ok().bodyValue("hello from the host"))
                    .GET("/bench-report", request -> Mono.error(new IllegalStateException("host failure")))
                    .build();
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    JobService service;

    @Test
    void hostRoutesAreUntouchedByTheRunnersFilters() {
        RawHttp http = new RawHttp(port);

        RawHttp.Response hello = http.get("/hello", Map.of());
        assertThat(hello.status()).isEqualTo(200);
        assertThat(hello.body()).isEqualTo("hello from the host");
        // The host's own failure keeps the host's error handling, not the runner's problem+json.
        RawHttp.Response failure = http.get("/bench-report", Map.of());
        assertThat(failure.status()).isEqualTo(500);
        assertThat(failure.header("Content-Type")).doesNotContain("problem");

        assertThat(http.get("/bench/jobs", Map.of()).status()).isEqualTo(401);
        assertThat(http.get("/bench/jobs", Map.of("Authorization", "Bearer host-token")).status()).isEqualTo(200);
        assertThat(service.endpoints()).hasSize(8);
    }
}
