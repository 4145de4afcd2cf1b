package dev.beacon.runner.core.provider;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.scheduler.Schedulers;

/** How each HTTP protocol maps statuses, broken bodies and broken connections to failures. */
class HttpFailureMappingTest {

    @RegisterExtension
    static WireMockExtension wm = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

    static final int BODY_LIMIT = 4096;
    static final InferenceClients clients = new InferenceClients(64, BODY_LIMIT, Schedulers.parallel());

    @AfterAll
    static void closePool() {
        clients.close();
    }

    private static InferenceClient client(Protocol protocol) {
        return clients.create(protocol.config(wm.baseUrl(), "sk-test"), Protocol.ENDPOINT_MODEL);
    }

    private static void answer(Protocol protocol, com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder response) {
        wm.stubFor(any(urlEqualTo(protocol.requestPath)).willReturn(response));
    }

    private static InferenceFailure failureFor(Protocol protocol) {
        return failureOf(client(protocol).infer(Protocol.question()));
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void server_errors_are_retryable_and_never_quote_the_body(Protocol protocol) {
        answer(protocol, aResponse().withStatus(500).withBody("{\"error\":\"model crashed on gpu-node-7.internal\"}"));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_500");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.getMessage()).isEqualTo("provider '" + protocol.name().toLowerCase() + "-eu': answered HTTP 500");

        answer(protocol, aResponse().withStatus(503).withBody("overloaded"));
        failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_503");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.retryAfter()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void too_many_requests_is_retryable_with_retry_after_in_seconds(Protocol protocol) {
        answer(protocol, aResponse().withStatus(429).withHeader("Retry-After", "7").withBody("slow down"));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_429");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.retryAfter()).contains(Duration.ofSeconds(7));
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void too_many_requests_is_retryable_with_retry_after_as_http_date(Protocol protocol) {
        String inTwoMinutes = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(120));
        answer(protocol, aResponse().withStatus(429).withHeader("Retry-After", inTwoMinutes));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.retryAfter()).hasValueSatisfying(wait ->
                assertThat(wait).isBetween(Duration.ofSeconds(100), Duration.ofSeconds(120)));
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void client_errors_are_not_retryable(Protocol protocol) {
        answer(protocol, aResponse().withStatus(400).withBody("{\"error\":\"max_tokens too large\"}"));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_400");
        assertThat(failure.retryable()).isFalse();

        answer(protocol, aResponse().withStatus(401).withBody("unauthorized"));
        failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_401");
        assertThat(failure.retryable()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_long_error_body_is_not_quoted_at_all(Protocol protocol) {
        answer(protocol, aResponse().withStatus(502).withBody("x".repeat(10_000)));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("HTTP_502");
        assertThat(failure.getMessage()).endsWith("answered HTTP 502").doesNotContain("xx");
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void garbage_json_is_a_bad_response(Protocol protocol) {
        answer(protocol, aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody("<html>oops</html>"));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.retryable()).isFalse();
        assertThat(failure.getMessage()).endsWith("response is not valid JSON").doesNotContain("oops");

        answer(protocol, aResponse().withStatus(200).withBody(protocol.successBody + " trailing"));
        assertThat(failureFor(protocol).code()).isEqualTo("BAD_RESPONSE");

        answer(protocol, aResponse().withStatus(200).withBody("[1,2,3]"));
        assertThat(failureFor(protocol).code()).isEqualTo("BAD_RESPONSE");

        answer(protocol, aResponse().withStatus(200));
        assertThat(failureFor(protocol).code()).isEqualTo("BAD_RESPONSE");
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_json_object_without_the_answer_is_a_bad_response(Protocol protocol) {
        answer(protocol, aResponse().withStatus(200).withBody("{\"unexpected\":true}"));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.retryable()).isFalse();
        assertThat(failure.getMessage()).contains("no string at");
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_body_over_the_limit_is_rejected(Protocol protocol) {
        String padded = protocol.successBody.replace("Paris is the capital of France.", "a".repeat(BODY_LIMIT * 4));
        answer(protocol, aResponse().withStatus(200).withBody(padded));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("BODY_TOO_LARGE");
        assertThat(failure.retryable()).isFalse();
        assertThat(failure.getMessage()).contains(protocol.name().toLowerCase() + "-eu");
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_body_just_under_the_limit_is_accepted(Protocol protocol) {
        String filler = "a".repeat(BODY_LIMIT - protocol.successBody.length());
        String padded = protocol.successBody.replace("Paris is the capital of France.", "Paris is the capital of France." + filler);
        assertThat(padded.length()).isLessThanOrEqualTo(BODY_LIMIT);
        answer(protocol, aResponse().withStatus(200).withBody(padded));
        assertThat(client(protocol).infer(Protocol.question()).block(Duration.ofSeconds(10)).text()).endsWith(filler);
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_connection_reset_by_the_server_is_a_retryable_connect_failure(Protocol protocol) {
        answer(protocol, aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("CONNECT");
        assertThat(failure.retryable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_connection_closed_without_a_response_is_a_retryable_connect_failure(Protocol protocol) {
        answer(protocol, aResponse().withFault(Fault.EMPTY_RESPONSE));
        InferenceFailure failure = failureFor(protocol);
        assertThat(failure.code()).isEqualTo("CONNECT");
        assertThat(failure.retryable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_refused_connection_is_a_retryable_connect_failure(Protocol protocol) throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        InferenceClient client = clients.create(protocol.config("http://127.0.0.1:" + closedPort, "sk-test"), Protocol.ENDPOINT_MODEL);
        InferenceFailure failure = failureOf(client.infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("CONNECT");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.getMessage()).isEqualTo("provider '" + protocol.name().toLowerCase() + "-eu': connection refused")
                .doesNotContain("127.0.0.1").doesNotContain(String.valueOf(closedPort));
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void an_unknown_host_is_a_retryable_connect_failure(Protocol protocol) {
        InferenceClient client = clients.create(protocol.config("http://no-such-host.invalid", "sk-test"), Protocol.ENDPOINT_MODEL);
        InferenceFailure failure = failureOf(client.infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("CONNECT");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.getMessage()).doesNotContain("no-such-host");
    }
}
