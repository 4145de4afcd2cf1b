package dev.beacon.runner.core.provider;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.beacon.runner.core.domain.InferenceOutput;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;

class OllamaClientTest {

    @RegisterExtension
    static WireMockExtension wm = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

    static final InferenceClients clients = new InferenceClients();

    @AfterAll
    static void closePool() {
        clients.close();
    }

    @BeforeEach
    void answerSuccessfully() {
        wm.stubFor(post(urlEqualTo("/api/chat")).willReturn(aResponse().withStatus(200).withBody(Protocol.OLLAMA.successBody)));
    }

    private static InferenceClient client(String apiKey) {
        return clients.create(Protocol.OLLAMA.config(wm.baseUrl(), apiKey), Protocol.ENDPOINT_MODEL);
    }

    @Test
    void maps_the_message_the_done_reason_the_eval_counts_and_the_model_as_served() {
        StepVerifier.create(client(null).infer(Protocol.question()))
                .expectNext(Protocol.OLLAMA.expected)
                .verifyComplete();
    }

    @Test
    void sends_messages_and_options_without_streaming() {
        client(null).infer(Protocol.question()).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/api/chat"))
                .withoutHeader("Authorization")
                .withRequestBody(equalToJson("""
                        {"model":"llama3.2-1b",
                         "messages":[{"role":"system","content":"You are a helpful assistant."},
                                     {"role":"user","content":"What is the capital of France?"}],
                         "stream":false,
                         "options":{"temperature":0.1,"num_predict":500,"seed":42}}""")));
    }

    @Test
    void omits_the_system_message_and_the_seed_when_absent_and_sends_a_configured_key() {
        var request = new InferenceRequest("llama3.2-1b", "eu", null, "Hi?", 0.0, 32, null);
        client("ollama-key").infer(request).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/api/chat"))
                .withHeader("Authorization", equalTo("Bearer ollama-key"))
                .withRequestBody(equalToJson("""
                        {"model":"llama3.2-1b","messages":[{"role":"user","content":"Hi?"}],
                         "stream":false,"options":{"temperature":0.0,"num_predict":32}}""")));
    }

    @Test
    void an_error_field_in_a_successful_answer_is_a_bad_response() {
        wm.stubFor(post(urlEqualTo("/api/chat")).willReturn(aResponse().withStatus(200)
                .withBody("{\"error\":\"model 'llama3.2:1b' not found, try pulling it first\"}")));
        InferenceFailure failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.getMessage()).endsWith("response reports an error").doesNotContain("llama3.2:1b").doesNotContain("not found");
    }
}
