package dev.beacon.runner.core.provider;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.scheduler.Schedulers;

/**
 * Every failure message, however the provider misbehaves, is free of the API key and of anything the
 * provider sent: a short fixed reason that names the provider.
 */
class SecretsNeverLeakTest {

    static final String KEY = "sk-SECRET-123";

    @RegisterExtension
    static WireMockExtension wm = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

    static final InferenceClients clients = new InferenceClients(64, 4096, Schedulers.parallel());

    @AfterAll
    static void closePool() {
        clients.close();
    }

    private static Map<String, ResponseDefinitionBuilder> misbehaviours(Protocol protocol) {
        Map<String, ResponseDefinitionBuilder> cases = new LinkedHashMap<>();
        cases.put("401 echoing the key", aResponse().withStatus(401).withBody("Incorrect API key provided: " + KEY));
        cases.put("500 echoing the header", aResponse().withStatus(500).withBody("{\"headers\":{\"Authorization\":\"Bearer " + KEY + "\"}}"));
        cases.put("key across the quote limit", aResponse().withStatus(503).withBody("x".repeat(195) + KEY + " tail"));
        cases.put("key across the sampled bytes", aResponse().withStatus(502).withBody("y".repeat(1595) + KEY + " tail"));
        cases.put("429", aResponse().withStatus(429).withHeader("Retry-After", "1").withBody(KEY));
        cases.put("garbage echoing the key", aResponse().withStatus(200).withBody("<html>" + KEY + "</html>"));
        cases.put("error field echoing the key", aResponse().withStatus(200).withBody("{\"error\":\"bad key " + KEY + "\"}"));
        cases.put("status echoing the key", aResponse().withStatus(200).withBody("{\"status\":\"" + KEY + "\",\"response\":\"x\"}"));
        cases.put("invalid count echoing the key", aResponse().withStatus(200)
                .withBody(protocol.successBody.replace("7", "\"" + KEY + "\"")));
        cases.put("redirect to a non-HTTP location", aResponse().withStatus(303).withHeader("Location", "ftp://" + KEY + "@example.com/"));
        cases.put("oversized", aResponse().withStatus(200).withBody(protocol.successBody.replace("Paris", KEY.repeat(1000))));
        cases.put("reset", aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));
        cases.put("empty", aResponse().withFault(Fault.EMPTY_RESPONSE));
        return cases;
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void no_failure_message_contains_the_api_key(Protocol protocol) throws IOException {
        InferenceClient client = clients.create(protocol.config(wm.baseUrl(), KEY), Protocol.ENDPOINT_MODEL);
        List<InferenceFailure> failures = new ArrayList<>();
        for (var misbehaviour : misbehaviours(protocol).entrySet()) {
            wm.stubFor(any(urlEqualTo(protocol.requestPath)).willReturn(misbehaviour.getValue()));
            failures.add(failureOf(client.infer(Protocol.question())));
        }
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        failures.add(failureOf(clients.create(protocol.config("http://127.0.0.1:" + closedPort, KEY), Protocol.ENDPOINT_MODEL)
                .infer(Protocol.question())));

        wm.verify(postRequestedFor(urlEqualTo(protocol.requestPath)).withHeader("Authorization", equalTo("Bearer " + KEY)));
        assertThat(failures).hasSizeGreaterThanOrEqualTo(12).allSatisfy(failure -> {
            assertThat(failure.getMessage()).doesNotContain("SECRET").contains(protocol.name().toLowerCase() + "-eu")
                    .doesNotContain("tail").doesNotContain("html").doesNotContain("Bearer").doesNotContain("example.com")
                    .doesNotContain("127.0.0.1").hasSizeLessThan(120);
            assertThat(failure.toError().message()).doesNotContain("SECRET");
            assertThat(failure.toString()).doesNotContain("SECRET");
        });
    }
}
