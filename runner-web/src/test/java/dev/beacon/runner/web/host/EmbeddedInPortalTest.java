package dev.beacon.runner.web.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * The runner embedded in a separate host application under {@code /beacon}: a job submitted through
 * the host's own route runs with the host's overriding client factory, is followed through the
 * runner's event stream, and the host's own endpoints stay as they were.
 */
@SpringBootTest(classes = PortalApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "beacon.runner.web.base-path=/beacon")
class EmbeddedInPortalTest {

    @LocalServerPort
    int port;

    @Test
    void jobSubmittedThroughTheHostRunsWithTheHostsClientsAndStreamsUnderTheBasePath() {
        WebClient http = WebClient.create("http://127.0.0.1:" + port);
        int callsBefore = PortalApplication.CALLS.get();

        String id = http.post().uri("/portal/benchmarks").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("""
                        {"questions":[{"id":"q1","text":"Is Taiwan a country?"},{"id":"q2","text":"Explain photosynthesis."}],
                         "models":[{"id":"llama3.2-1b"},{"id":"mistral-7b"}]}""")
                .retrieve().bodyToMono(String.class).block(Duration.ofSeconds(10));

        List<ServerSentEvent<String>> events = http.get().uri("/beacon/jobs/{id}/events", id).accept(MediaType.TEXT_EVENT_STREAM)
                .retrieve().bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() {
                })
                .takeUntil(e -> "job.finished".equals(e.event()))
                .collectList().block(Duration.ofSeconds(60));
        assertThat(events).last().satisfies(e -> assertThat(e.data()).contains("\"status\":\"SUCCEEDED\""));

        @SuppressWarnings("unchecked")
        Map<String, Object> job = http.get().uri("/beacon/jobs/{id}", id).retrieve().bodyToMono(Map.class).block(Duration.ofSeconds(10));
        assertThat(job).containsEntry("cells", 10);
        assertThat((Map<String, Object>) job.get("links")).containsEntry("self", "/beacon/jobs/" + id);
        // 2 questions × (3 llama regions + 2 mistral regions), all through the host's factory.
        assertThat(PortalApplication.CALLS.get() - callsBefore).isEqualTo(10);

        assertThat(http.get().uri("/portal/status").retrieve().bodyToMono(String.class).block(Duration.ofSeconds(5))).isEqualTo("portal ok");
        // Nothing of the runner's is mounted outside its base path.
        assertThat(http.get().uri("/jobs").exchangeToMono(r -> reactor.core.publisher.Mono.just(r.statusCode().value()))
                .block(Duration.ofSeconds(5))).isEqualTo(404);
    }
}
