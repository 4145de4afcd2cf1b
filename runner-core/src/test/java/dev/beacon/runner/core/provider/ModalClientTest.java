package dev.beacon.runner.core.provider;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.TokenUsage;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.test.StepVerifier;

class ModalClientTest {

    @RegisterExtension
    static WireMockExtension wm = WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

    static final InferenceClients clients = new InferenceClients();
    static final InferenceOutput PARIS = Protocol.MODAL.expected;

    @AfterAll
    static void closePool() {
        clients.close();
    }

    private static InferenceClient client(String apiKey) {
        return clients.create(Protocol.MODAL.config(wm.baseUrl(), apiKey), Protocol.ENDPOINT_MODEL);
    }

    private static void postAnswers(int status, String location) {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(status).withHeader("Location", location)));
    }

    private static void getAnswers(String path, String body) {
        wm.stubFor(get(urlEqualTo(path)).willReturn(aResponse().withStatus(200).withBody(body)));
    }

    @Test
    void maps_the_response_and_the_generated_tokens() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200).withBody(Protocol.MODAL.successBody)));
        StepVerifier.create(client(null).infer(Protocol.question())).expectNext(PARIS).verifyComplete();
    }

    @Test
    void sends_model_prompt_system_prompt_sampling_and_region_with_the_bearer_token() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200).withBody(Protocol.MODAL.successBody)));
        client("modal-token").infer(Protocol.question()).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/infer"))
                .withHeader("Authorization", equalTo("Bearer modal-token"))
                .withRequestBody(equalToJson("""
                        {"model":"llama3.2-1b","prompt":"What is the capital of France?",
                         "system_prompt":"You are a helpful assistant.",
                         "temperature":0.1,"max_tokens":500,"region":"eu"}""")));
    }

    @Test
    void omits_the_system_prompt_when_absent() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200).withBody(Protocol.MODAL.successBody)));
        client(null).infer(new InferenceRequest("m", "asia", null, "Hi?", 1.0, 10, 7L)).block(Duration.ofSeconds(10));

        wm.verify(postRequestedFor(urlEqualTo("/infer")).withoutHeader("Authorization").withRequestBody(equalToJson("""
                {"model":"llama3.2-1b","prompt":"Hi?","temperature":1.0,"max_tokens":10,"region":"asia"}""")));
    }

    @Test
    void follows_a_303_with_a_get_to_an_absolute_location() {
        postAnswers(303, wm.baseUrl() + "/result/abs");
        getAnswers("/result/abs", Protocol.MODAL.successBody);

        StepVerifier.create(client("modal-token").infer(Protocol.question())).expectNext(PARIS).verifyComplete();
        // Same origin: the token follows the redirect.
        wm.verify(getRequestedFor(urlEqualTo("/result/abs")).withHeader("Authorization", equalTo("Bearer modal-token")));
    }

    @Test
    void resolves_relative_locations_against_the_request_url() {
        postAnswers(303, "result/rel?id=1");
        getAnswers("/result/rel?id=1", Protocol.MODAL.successBody);
        StepVerifier.create(client(null).infer(Protocol.question())).expectNext(PARIS).verifyComplete();

        postAnswers(303, "/deep/result");
        getAnswers("/deep/result", Protocol.MODAL.successBody);
        StepVerifier.create(client(null).infer(Protocol.question())).expectNext(PARIS).verifyComplete();
    }

    @Test
    void follows_a_chain_of_303s() {
        postAnswers(303, "/hop/1");
        wm.stubFor(get(urlEqualTo("/hop/1")).willReturn(aResponse().withStatus(303).withHeader("Location", "/hop/2")));
        getAnswers("/hop/2", Protocol.MODAL.successBody);

        StepVerifier.create(client(null).infer(Protocol.question())).expectNext(PARIS).verifyComplete();
        wm.verify(1, getRequestedFor(urlEqualTo("/hop/1")));
        wm.verify(1, getRequestedFor(urlEqualTo("/hop/2")));
    }

    @Test
    void gives_up_after_twenty_redirects() {
        postAnswers(303, "/loop");
        wm.stubFor(get(urlEqualTo("/loop")).willReturn(aResponse().withStatus(303).withHeader("Location", "/loop")));

        InferenceFailure failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.getMessage()).contains("redirects");
        wm.verify(ModalClient.MAX_REDIRECTS, getRequestedFor(urlEqualTo("/loop")));
    }

    @Test
    void does_not_send_the_token_to_another_origin() {
        String otherOrigin = wm.baseUrl().replace("localhost", "127.0.0.1");
        assertThat(otherOrigin).isNotEqualTo(wm.baseUrl());
        postAnswers(303, otherOrigin + "/elsewhere");
        getAnswers("/elsewhere", Protocol.MODAL.successBody);

        StepVerifier.create(client("modal-token").infer(Protocol.question())).expectNext(PARIS).verifyComplete();
        wm.verify(getRequestedFor(urlEqualTo("/elsewhere")).withoutHeader("Authorization"));
    }

    @Test
    void a_303_without_location_is_a_bad_response() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(303)));
        InferenceFailure failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.retryable()).isFalse();
    }

    @Test
    void a_transient_failure_after_a_redirect_stays_retryable() {
        postAnswers(303, "/result/busy");
        wm.stubFor(get(urlEqualTo("/result/busy")).willReturn(aResponse().withStatus(503).withHeader("Retry-After", "3")));
        InferenceFailure failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("HTTP_503");
        assertThat(failure.retryable()).isTrue();
        assertThat(failure.retryAfter()).contains(Duration.ofSeconds(3));
    }

    @Test
    void accepts_success_statuses_in_any_case() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200)
                .withBody("{\"status\":\"COMPLETED\",\"response\":\"yes\",\"tokens_generated\":1}")));
        StepVerifier.create(client(null).infer(Protocol.question()))
                .expectNext(new InferenceOutput("yes", null, new TokenUsage(null, 1)))
                .verifyComplete();
    }

    @Test
    void a_failed_status_or_an_error_field_is_a_bad_response() {
        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200)
                .withBody("{\"status\":\"failed\",\"response\":\"\"}")));
        InferenceFailure failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.getMessage()).endsWith("response status is not a success");

        wm.stubFor(post(urlEqualTo("/infer")).willReturn(aResponse().withStatus(200)
                .withBody("{\"status\":\"success\",\"response\":\"x\",\"error\":\"CUDA out of memory\"}")));
        failure = failureOf(client(null).infer(Protocol.question()));
        assertThat(failure.code()).isEqualTo("BAD_RESPONSE");
        assertThat(failure.retryable()).isFalse();
        // What the provider said stays out of the stored message.
        assertThat(failure.getMessage()).endsWith("response reports an error").doesNotContain("CUDA");
    }
}
