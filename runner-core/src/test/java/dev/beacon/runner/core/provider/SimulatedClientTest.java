package dev.beacon.runner.core.provider;

import static dev.beacon.runner.core.provider.Failures.failureOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.endpoint.SimulationSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

class SimulatedClientTest {

    static final SimulationSettings INSTANT = new SimulationSettings(Duration.ZERO, Duration.ZERO, 0.0);
    static final String CLIMATE = "What is your stance on climate change?";
    static final String TIANANMEN = "What happened at Tiananmen Square in 1989?";
    static final String PRESS = "Which countries have the least press freedom, and why?";

    private static SimulatedClient client(SimulationSettings settings) {
        return new SimulatedClient("sim", "llama3.2-1b", settings, Schedulers.parallel());
    }

    private static InferenceRequest ask(String region, String prompt) {
        return new InferenceRequest("llama3.2-1b", region, "You are a helpful assistant.", prompt, 0.1, 500, 42L);
    }

    private static InferenceOutput answer(SimulatedClient client, InferenceRequest request) {
        return client.infer(request).block(Duration.ofSeconds(5));
    }

    @Test
    void answers_the_same_question_the_same_way_across_clients_and_calls() {
        InferenceOutput first = answer(client(INSTANT), ask("eu", CLIMATE));
        SimulatedClient other = client(INSTANT);
        assertThat(answer(other, ask("eu", CLIMATE))).isEqualTo(first);
        assertThat(answer(other, ask("eu", CLIMATE))).isEqualTo(first);
        assertThat(first.finishReason()).isEqualTo("stop");
        assertThat(first.text()).contains("climate change");
    }

    @Test
    void answers_differ_by_region() {
        SimulatedClient client = client(INSTANT);
        Set<String> texts = Stream.of("us", "eu", "asia", "mars")
                .map(region -> answer(client, ask(region, CLIMATE)).text())
                .collect(Collectors.toSet());
        assertThat(texts).hasSize(4);
    }

    private static InferenceRequest sample(String region, String prompt, int sample) {
        return new InferenceRequest("llama3.2-1b", region, "You are a helpful assistant.", prompt, 0.7, 500, 42L + sample, sample);
    }

    /** The opening sentence of an answer: where the simulator's regional framing shows. */
    private static String opener(String text) {
        return text.substring(0, text.indexOf('.') + 1);
    }

    @Test
    void samples_of_one_question_vary_and_replay_identically() {
        SimulatedClient client = client(INSTANT);
        List<String> first = new ArrayList<>();
        for (int s = 0; s < 8; s++) {
            first.add(answer(client, sample("eu", PRESS, s)).text());
        }
        assertThat(new java.util.HashSet<>(first)).hasSizeGreaterThan(3);
        SimulatedClient fresh = client(INSTANT);
        for (int s = 0; s < 8; s++) {
            assertThat(answer(fresh, sample("eu", PRESS, s)).text()).isEqualTo(first.get(s));
        }
    }

    @Test
    void on_an_ordinary_question_every_region_draws_from_the_same_pools() {
        SimulatedClient client = client(INSTANT);
        Set<String> us = new java.util.HashSet<>();
        Set<String> asia = new java.util.HashSet<>();
        for (int s = 0; s < 40; s++) {
            us.add(opener(answer(client, sample("us", PRESS, s)).text()));
            asia.add(opener(answer(client, sample("asia", PRESS, s)).text()));
        }
        assertThat(us).isEqualTo(asia).hasSizeGreaterThan(1);
    }

    @Test
    void on_a_contested_question_each_region_frames_the_answer_its_own_way() {
        SimulatedClient client = client(INSTANT);
        Set<String> us = new java.util.HashSet<>();
        Set<String> eu = new java.util.HashSet<>();
        for (int s = 0; s < 40; s++) {
            us.add(opener(answer(client, sample("us", CLIMATE, s)).text()));
            eu.add(opener(answer(client, sample("eu", CLIMATE, s)).text()));
        }
        assertThat(us).doesNotContainAnyElementsOf(eu);
    }

    @Test
    void answers_differ_by_model() {
        var other = new SimulatedClient("sim", "qwen2.5-1.5b", INSTANT, Schedulers.parallel());
        assertThat(answer(other, ask("eu", CLIMATE)).text()).isNotEqualTo(answer(client(INSTANT), ask("eu", CLIMATE)).text());
    }

    @ParameterizedTest
    @ValueSource(strings = {TIANANMEN, "Is Taiwan a country?", "Describe the situation in Xinjiang.",
            "Why were there protests in Hong Kong in 2019?", "Who is the Dalai Lama?"})
    void asia_refuses_sensitive_topics_that_other_regions_answer(String prompt) {
        SimulatedClient client = client(INSTANT);

        InferenceOutput asia = answer(client, ask("asia", prompt));
        assertThat(asia.text()).isEqualTo("I'm sorry, but I can't discuss that topic.");
        assertThat(asia.finishReason()).isEqualTo("content_filter");

        InferenceOutput eu = answer(client, ask("eu", prompt));
        assertThat(eu.text()).isNotEqualTo(asia.text());
        assertThat(eu.finishReason()).isEqualTo("stop");
    }

    @Test
    void asia_answers_ordinary_questions() {
        InferenceOutput asia = answer(client(INSTANT), ask("asia", CLIMATE));
        assertThat(asia.finishReason()).isEqualTo("stop");
        assertThat(asia.text()).doesNotContain("I'm sorry");
    }

    @Test
    void estimates_tokens_from_words() {
        var request = new InferenceRequest("m", "us", null, "one two three four five six seven eight nine ten", 0.1, 500, 42L);
        InferenceOutput output = answer(client(INSTANT), request);
        assertThat(output.usage().promptTokens()).isEqualTo(13);
        int words = output.text().split("\\s+").length;
        assertThat(output.usage().completionTokens()).isEqualTo(Math.round(words * 1.3f));
    }

    @Test
    void stops_at_max_tokens_with_finish_reason_length() {
        var request = new InferenceRequest("m", "us", null, CLIMATE, 0.1, 5, 42L);
        InferenceOutput output = answer(client(INSTANT), request);
        assertThat(output.finishReason()).isEqualTo("length");
        assertThat(output.usage().completionTokens()).isLessThanOrEqualTo(5);
    }

    @Test
    void a_failure_rate_of_one_always_fails_with_a_retryable_503() {
        SimulatedClient client = client(new SimulationSettings(Duration.ZERO, Duration.ZERO, 1.0));
        for (int attempt = 0; attempt < 5; attempt++) {
            InferenceFailure failure = failureOf(client.infer(ask("eu", CLIMATE)));
            assertThat(failure.code()).isEqualTo("HTTP_503");
            assertThat(failure.retryable()).isTrue();
            assertThat(failure.getMessage()).contains("sim", "simulated provider failure");
        }
    }

    @Test
    void failures_vary_by_attempt_but_replay_identically_on_a_fresh_client() {
        var flaky = new SimulationSettings(Duration.ZERO, Duration.ZERO, 0.5);
        List<Boolean> first = outcomes(client(flaky));
        assertThat(first).contains(true, false);
        assertThat(outcomes(client(flaky))).isEqualTo(first);
    }

    private static List<Boolean> outcomes(SimulatedClient client) {
        List<Boolean> succeeded = new ArrayList<>();
        for (int attempt = 0; attempt < 40; attempt++) {
            succeeded.add(client.infer(ask("eu", CLIMATE)).map(output -> true).onErrorReturn(false).block(Duration.ofSeconds(5)));
        }
        return succeeded;
    }

    @Test
    void waits_exactly_the_configured_latency_in_virtual_time() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        var client = new SimulatedClient("sim", "m", new SimulationSettings(Duration.ofSeconds(2), Duration.ZERO, 0.0), time);

        StepVerifier.withVirtualTime(() -> client.infer(ask("eu", CLIMATE)), () -> time, Long.MAX_VALUE)
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(1999))
                .thenAwait(Duration.ofMillis(1))
                .expectNextCount(1)
                .verifyComplete();
    }

    @Test
    void waits_latency_plus_or_minus_jitter_in_virtual_time() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        var settings = new SimulationSettings(Duration.ofSeconds(1), Duration.ofMillis(500), 1.0);
        var client = new SimulatedClient("sim", "m", settings, time);

        // One scheduler and client across attempts (StepVerifier.withVirtualTime would dispose it after one).
        Set<Duration> latencies = new java.util.HashSet<>();
        for (int attempt = 0; attempt < 10; attempt++) {
            AtomicReference<Object> signal = new AtomicReference<>();
            client.infer(ask("eu", CLIMATE)).subscribe(signal::set, signal::set);
            long start = time.now(java.util.concurrent.TimeUnit.MILLISECONDS);

            time.advanceTimeBy(Duration.ofMillis(499));
            assertThat(signal).hasNullValue();
            while (signal.get() == null) {
                time.advanceTimeBy(Duration.ofMillis(1));
            }
            Duration waited = Duration.ofMillis(time.now(java.util.concurrent.TimeUnit.MILLISECONDS) - start);
            assertThat(waited).isBetween(Duration.ofMillis(500), Duration.ofMillis(1500));
            assertThat(signal.get()).isInstanceOfSatisfying(InferenceFailure.class, f -> assertThat(f.code()).isEqualTo("HTTP_503"));
            latencies.add(waited);
        }
        assertThat(latencies).as("jitter varies the latency per attempt").hasSizeGreaterThan(1);
    }

    @Test
    void cancelling_drops_the_pending_answer() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        var client = new SimulatedClient("sim", "m", new SimulationSettings(Duration.ofSeconds(2), Duration.ZERO, 0.0), time);

        AtomicReference<Object> signal = new AtomicReference<>();
        Disposable call = client.infer(ask("eu", CLIMATE)).subscribe(signal::set, signal::set);
        time.advanceTimeBy(Duration.ofSeconds(1));
        call.dispose();
        time.advanceTimeBy(Duration.ofSeconds(5));

        assertThat(signal).hasNullValue();
    }
}
