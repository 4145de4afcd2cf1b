package dev.beacon.runner.web.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.spec.FieldError;
import dev.beacon.runner.core.store.StoreUnavailableException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.http.codec.HttpMessageWriter;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.reactive.function.server.HandlerStrategies;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.reactive.result.view.ViewResolver;

/** The problem format byte for byte: RFC 9457's members in order, then {@code errors}, even when it is empty. */
class ProblemResponsesTest {

    private final ProblemResponses problems = new ProblemResponses();

    @Test
    void aRefusalNamesEachFieldAfterTheStandardMembers() {
        var problem = new ApiProblem(HttpStatus.BAD_REQUEST, "invalid-job", "the job was rejected: 2 errors",
                List.of(new FieldError("questions[0].text", "must not be blank"), new FieldError("models", "must not be empty")),
                Map.of());

        Rendered r = render("/jobs", problem);

        assertThat(r.status()).isEqualTo(400);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.body()).isEqualTo("{\"type\":\"urn:problem:beacon-runner:invalid-job\",\"title\":\"Bad Request\",\"status\":400,"
                + "\"detail\":\"the job was rejected: 2 errors\",\"instance\":\"/jobs\",\"errors\":["
                + "{\"field\":\"questions[0].text\",\"message\":\"must not be blank\"},{\"field\":\"models\",\"message\":\"must not be empty\"}]}");
    }

    @Test
    void aProblemWithoutFieldsStillHasAnEmptyErrorsArrayAndKeepsItsHeaders() {
        Rendered r = render("/jobs/123", new StoreUnavailableException("the database did not answer within PT10S", null));

        assertThat(r.status()).isEqualTo(503);
        assertThat(r.retryAfter()).isEqualTo("5");
        assertThat(r.body()).isEqualTo("{\"type\":\"urn:problem:beacon-runner:storage-unavailable\",\"title\":\"Service Unavailable\","
                + "\"status\":503,\"detail\":\"the job store is unavailable; retry later\",\"instance\":\"/jobs/123\",\"errors\":[]}");
    }

    @Test
    void aRawPathThatIsNoValidUriIsStillTheInstanceEncoded() {
        assertThat(ProblemResponses.instance("/jobs/a%20b")).hasToString("/jobs/a%20b");
        assertThat(ProblemResponses.instance("/jobs/a b|c")).hasToString("/jobs/a%20b%7Cc");
    }

    private Rendered render(String path, Throwable error) {
        var exchange = MockServerWebExchange.from(MockServerHttpRequest.get(path));
        ServerRequest request = ServerRequest.create(exchange, HandlerStrategies.withDefaults().messageReaders());
        ServerResponse response = problems.render(request, error).block();
        response.writeTo(exchange, new ServerResponse.Context() {
            @Override
            public List<HttpMessageWriter<?>> messageWriters() {
                return ServerCodecConfigurer.create().getWriters();
            }

            @Override
            public List<ViewResolver> viewResolvers() {
                return List.of();
            }
        }).block();
        String body = exchange.getResponse().getBodyAsString().block();
        return new Rendered(response.statusCode().value(), String.valueOf(exchange.getResponse().getHeaders().getContentType()),
                exchange.getResponse().getHeaders().getFirst("Retry-After"), body);
    }

    private record Rendered(int status, String contentType, String retryAfter, String body) {
    }
}
