package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.r2dbc.spi.ConnectionFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A WebFlux host with no database settings at all starts, and the runner in it works on its embedded
 * default — an H2 file database with its schema migrated — exactly as the standalone application
 * does: a job runs to the end, and is still there when the host starts again on the same file.
 */
class HostWithoutDatabaseTest {

    /** A host of its own: one route, nothing about databases. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class Host {

        @Bean
        RouterFunction<ServerResponse> hostRoutes() {
            return RouterFunctions.route().GET("/hello", request -> ServerResponse.ok().bodyValue("hello from the host")).build();
        }
    }

    @Test
    void theRunnerWorksOnItsEmbeddedFileDatabaseAndKeepsItsJobsAcrossRestarts(@TempDir Path dir) {
        Path file = dir.resolve("beacon");
        String id;
        try (ConfigurableApplicationContext host = start(file)) {
            assertThat(host.getEnvironment().getProperty("spring.r2dbc.url")).isNull();
            assertThat(host.getBeansOfType(ConnectionFactory.class)).containsOnlyKeys("beaconEmbeddedConnectionFactory");
            RunnerClient client = new RunnerClient(port(host), "", null);
            assertThat(client.get("/hello").body()).isEqualTo("hello from the host");

            RawHttp.Response accepted = client.submit("""
                    {"questions":[{"id":"q1","text":"Is the sky blue?"},{"id":"q2","text":"Explain tides."}],
                     "models":[{"id":"m1"}]}""", null);
            assertThat(accepted.status()).isEqualTo(202);
            id = accepted.json().path("id").asString();
            List<ServerSentEvent<String>> events = client.eventsUntilEnd(id, null, null, Duration.ofSeconds(60));
            assertThat(events).last().satisfies(e -> assertThat(e.data()).contains("\"status\":\"SUCCEEDED\""));
        }
        assertThat(Files.exists(dir.resolve("beacon.mv.db"))).isTrue();

        try (ConfigurableApplicationContext again = start(file)) {
            RunnerClient client = new RunnerClient(port(again), "", null);
            RawHttp.Response job = client.get("/jobs/" + id);
            assertThat(job.status()).isEqualTo(200);
            assertThat(job.json().path("status").asString()).isEqualTo("SUCCEEDED");
            assertThat(client.executions(id)).hasSize(4);
        }
    }

    private static ConfigurableApplicationContext start(Path file) {
        return new SpringApplicationBuilder(Host.class)
                .web(WebApplicationType.REACTIVE)
                .properties(Map.of(
                        // Not the test suite's application.yaml, which names a database: this host has none.
                        "spring.config.name", "host-without-database",
                        "spring.main.banner-mode", "off",
                        "server.port", "0",
                        "beacon.runner.persistence.embedded-path", file.toString(),
                        "beacon.runner.endpoints[0].model", "m1",
                        "beacon.runner.endpoints[0].region", "eu",
                        "beacon.runner.endpoints[0].providers[0].id", "sim-m1-eu",
                        "beacon.runner.endpoints[1].model", "m1",
                        "beacon.runner.endpoints[1].region", "us",
                        "beacon.runner.endpoints[1].providers[0].id", "sim-m1-us"))
                .run();
    }

    private static int port(ConfigurableApplicationContext context) {
        return Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }
}
