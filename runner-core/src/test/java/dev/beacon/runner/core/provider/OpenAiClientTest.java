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
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;

class OpenAiClientTest {

    @RegisterExtension
    static WireMockExtension wm = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

    static final InferenceClients clients = new InferenceClients();

    @AfterAll
    static void closePool() {
        clients.close();
    }

    @BeforeEach
    void answerSuccessfully() {
        wm.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(Protocol.OPENAI.successBody)));
    }

    private static InferenceClient client(String baseUrl, String apiKey, String remoteModel) {
        var config = new ProviderConfig("openai-eu", ProviderType.OPENAI, URI.create(baseUrl), apiKey, remoteModel, 4, Duration.ofSeconds(30), null);
        return clients.create(config, "llama3.2-1b");
    }

    @Test
    void maps_the_first_choice_the_usage_and_what_the_server_says_it_served() {
        StepVerifier.create(client(wm.baseUrl(), null, null).infer(Protocol.question()))
                .expectNext(Protocol.OPENAI.expected)
                .verifyComplete();
    }

    @Test
    void records_the_configured_response_headers_and_no_others() {
        wm.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withHeader("X-Request-Id", "req-123")
                .withHeader("OpenAI-Processing-Ms", "812").withHeader("Set-Cookie", "session=secret")
                .withBody(Protocol.OPENAI.successBody)));
        var config = new ProviderConfig("openai-eu", ProviderType.OPENAI, URI.create(wm.baseUrl()), null, null, 4, Duration.ofSeconds(30),
                null, java.util.List.of("x-request-id", "OpenAI-Processing-Ms"));

        InferenceOutput output = clients.create(config, "llama3.2-1b").infer(Protocol.question()).block(Duration.ofSeconds(10));

        assertThat(output.provenance().headers()).containsExactly(
                java.util.Map.entry("x-request-id", "req-123"), java.util.Map.entry("openai-processing-ms", "812"));
    }

    @Test
    void a_header_that_can_carry_a_secret_cannot_be_recorded() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ProviderConfig("openai-eu", ProviderType.OPENAI, URI.create(wm.baseUrl()),
                        null, null, 4, Duration.ofSeconds(30), null, java.util.List.of("x-request-id", "Set-Cookie")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("record-headers must not name 'set-cookie'");
    }

    @Test
    void sends_system_and_user_messages_with_sampling_parameters_and_the_bearer_token() {
        client(wm.baseUrl(), "sk-abc", null).infer(Protocol.question()).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withHeader("Authorization", equalTo("Bearer sk-abc"))
                .withHeader("Content-Type", equalTo("application/json"))
                .withRequestBody(equalToJson("""
                        {"model":"llama3.2-1b",
                         "messages":[{"role":"system","content":"You are a helpful assistant."},
                                     {"role":"user","content":"What is the capital of France?"}],
                         "temperature":0.1,"max_tokens":500,"seed":42,"stream":false}""")));
    }

    @Test
    void omits_the_system_message_the_seed_and_the_authorization_when_absent() {
        var request = new InferenceRequest("llama3.2-1b", "eu", null, "Hi?", 0.7, 64, null);
        client(wm.baseUrl(), null, null).infer(request).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withoutHeader("Authorization")
                .withRequestBody(equalToJson("""
                        {"model":"llama3.2-1b","messages":[{"role":"user","content":"Hi?"}],
                         "temperature":0.7,"max_tokens":64,"stream":false}""")));
    }

    @Test
    void a_blank_api_key_sends_no_authorization() {
        client(wm.baseUrl(), "  ", null).infer(Protocol.question()).block(Duration.ofSeconds(10));
        wm.verify(postRequestedFor(urlEqualTo("/v1/chat/completions")).withoutHeader("Authorization"));
    }

    @Test
    void sends_the_remote_model_name_when_configured_and_tolerates_a_trailing_slash() {
        client(wm.baseUrl() + "/", null, "meta-llama/Llama-3.2-1B-Instruct").infer(Protocol.question()).block(Duration.ofSeconds(10));
        wm.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(equalToJson("{\"model\":\"meta-llama/Llama-3.2-1B-Instruct\"}", true, true)));
    }

    @Test
    void missing_usage_and_finish_reason_are_unknown_not_errors() {
        wm.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withBody("{\"choices\":[{\"message\":{\"content\":\"ok\"},\"finish_reason\":null}]}")));
        StepVerifier.create(client(wm.baseUrl(), null, null).infer(Protocol.question()))
                .expectNext(new InferenceOutput("ok", null, TokenUsage.UNKNOWN))
                .verifyComplete();
    }

    @Test
    void an_empty_choice_list_or_a_negative_count_is_a_bad_response() {
        wm.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withBody("{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}")));
        assertThat(failureOf(client(wm.baseUrl(), null, null).infer(Protocol.question())).code()).isEqualTo("BAD_RESPONSE");

        wm.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withBody("{\"choices\":[{\"message\":{\"content\":\"ok\"}}],\"usage\":{\"prompt_tokens\":-1}}")));
        InferenceFailure failure = failureOf(client(wm.baseUrl(), null, null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.getMessage()).contains("/usage/prompt_tokens");
    }
}
