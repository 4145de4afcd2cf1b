package dev.beacon.runner.core.provider;

import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * What happens to the TCP connection, seen from a real server: cancelled and broken exchanges close it,
 * completed ones return it to the pool, and the pool is not a hidden concurrency limit.
 */
class ConnectionLifecycleTest {

    static final int BODY_LIMIT = 16 * 1024;
    static final InferenceClients clients = new InferenceClients(256, BODY_LIMIT, Schedulers.parallel());

    @AfterAll
    static void closePool() {
        clients.close();
    }

    private static InferenceClient client(Protocol protocol, LoopbackServer server) {
        return clients.create(protocol.config(server.baseUrl(), "sk-test"), Protocol.ENDPOINT_MODEL);
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void cancelling_a_slow_call_closes_its_connection(Protocol protocol) {
        CountDownLatch requestArrived = new CountDownLatch(1);
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(Mono.fromRunnable(requestArrived::countDown))
                .then(Mono.never()))) {

            StepVerifier.create(client(protocol, server).infer(Protocol.question()))
                    // The request is at the server and unanswered: its connection is open...
                    .then(() -> await().atMost(Duration.ofSeconds(10)).until(() -> requestArrived.getCount() == 0))
                    .then(() -> {
                        assertThat(server.openedConnections()).isEqualTo(1);
                        assertThat(server.closedConnections()).isZero();
                    })
                    // ...until the caller cancels the call.
                    .thenCancel()
                    .verify(Duration.ofSeconds(15));

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(server.closedConnections()).isEqualTo(1));
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_call_cut_by_its_timeout_closes_its_connection(Protocol protocol) {
        CountDownLatch requestArrived = new CountDownLatch(1);
        Sinks.One<Boolean> timeUp = Sinks.one();
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(Mono.fromRunnable(requestArrived::countDown))
                .then(Mono.never()))) {

            // The timeout fires when the test says so, never before the request reached the server.
            StepVerifier.create(client(protocol, server).infer(Protocol.question()).timeout(timeUp.asMono()))
                    .then(() -> await().atMost(Duration.ofSeconds(10)).until(() -> requestArrived.getCount() == 0))
                    .then(() -> assertThat(server.closedConnections()).isZero())
                    .then(() -> timeUp.tryEmitValue(true))
                    .expectError(TimeoutException.class)
                    .verify(Duration.ofSeconds(15));

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(server.closedConnections()).isEqualTo(1));
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void completed_calls_reuse_one_pooled_connection(Protocol protocol) {
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(response.header(HttpHeaderNames.CONTENT_TYPE, "application/json").sendString(Mono.just(protocol.successBody)).then()))) {
            InferenceClient client = client(protocol, server);

            assertThat(client.infer(Protocol.question()).block(Duration.ofSeconds(5))).isEqualTo(protocol.expected);
            // The answer is emitted just before the connection goes back to the pool: wait for the release.
            await().atMost(Duration.ofSeconds(10)).until(() -> clients.idleConnections(server.port()) == 1);
            assertThat(client.infer(Protocol.question()).block(Duration.ofSeconds(5))).isEqualTo(protocol.expected);

            assertThat(server.openedConnections()).isEqualTo(1);
            assertThat(server.closedConnections()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_connection_closed_mid_response_is_a_retryable_connect_failure(Protocol protocol) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                try (Socket socket = listener.accept()) {
                    socket.getInputStream().read(new byte[8192]);
                    String partial = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                            + protocol.successBody.substring(0, 20);
                    socket.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                } catch (IOException ignored) {
                    // the test fails on the client side if the server could not play its part
                }
            }, "half-response-server");
            server.start();
            ProviderConfig config = protocol.config("http://127.0.0.1:" + listener.getLocalPort(), null);

            InferenceFailure failure = failureOf(clients.create(config, Protocol.ENDPOINT_MODEL).infer(Protocol.question()));
            assertThat(failure.code()).isEqualTo("CONNECT");
            assertThat(failure.retryable()).isTrue();
            assertThat(failure.getMessage()).contains("closed before the response was complete");
            server.join(5_000);
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void an_endless_body_is_cut_off_at_the_limit_and_its_connection_closed(Protocol protocol) {
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(response.header(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .sendString(Flux.interval(Duration.ofMillis(1)).map(tick -> "x".repeat(1024))).then()))) {

            InferenceFailure failure = failureOf(client(protocol, server).infer(Protocol.question()));
            assertThat(failure.code()).isEqualTo("BODY_TOO_LARGE");
            assertThat(failure.retryable()).isFalse();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(server.closedConnections()).isEqualTo(1));
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void a_declared_length_over_the_limit_fails_without_waiting_for_the_body(Protocol protocol) {
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(response.header(HttpHeaderNames.CONTENT_LENGTH, String.valueOf(100L * BODY_LIMIT))
                        .sendString(Mono.just("{")).then())
                .then(Mono.never()))) {

            // The server never sends the rest of the body: a client that waited for it would never fail
            // with BODY_TOO_LARGE, only hit failureOf's guard against a hang. No time limit is needed.
            InferenceFailure failure = failureOf(client(protocol, server).infer(Protocol.question()));
            assertThat(failure.code()).isEqualTo("BODY_TOO_LARGE");
            assertThat(failure.getMessage()).contains("declares " + 100L * BODY_LIMIT + " bytes");
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void forty_calls_to_one_host_are_in_flight_at_once(Protocol protocol) {
        int calls = 40;
        AtomicInteger arrived = new AtomicInteger();
        Sinks.Empty<Void> allArrived = Sinks.empty();
        try (var server = new LoopbackServer((request, response) -> request.receive().aggregate()
                .then(Mono.fromRunnable(() -> {
                    if (arrived.incrementAndGet() == calls) {
                        allArrived.tryEmitEmpty();
                    }
                }))
                .then(allArrived.asMono())
                .then(response.sendString(Mono.just(protocol.successBody)).then()))) {
            ProviderConfig config = protocol.config(server.baseUrl(), null);
            try (InferenceClients sized = InferenceClients.forProviders(List.of(config))) {
                InferenceClient client = sized.create(config, Protocol.ENDPOINT_MODEL);

                // Only answered once all forty requests have reached the server at the same time.
                List<InferenceOutput> answers = Flux.range(0, calls)
                        .flatMap(i -> client.infer(Protocol.question()), calls)
                        .collectList()
                        .block(Duration.ofSeconds(20));

                assertThat(answers).hasSize(calls).containsOnly(protocol.expected);
                assertThat(server.openedConnections()).isEqualTo(calls);
            }
        }
    }
}
