package dev.beacon.runner.core.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.endpoint.SimulationSettings;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Schedulers;

class InferenceClientsTest {

    private static ProviderConfig provider(String id, ProviderType type, int maxConcurrency) {
        URI url = type == ProviderType.SIMULATED ? null : URI.create("http://127.0.0.1:9");
        return new ProviderConfig(id, type, url, null, null, maxConcurrency, Duration.ofSeconds(30),
                new SimulationSettings(Duration.ZERO, Duration.ZERO, 0.0));
    }

    @Test
    void creates_the_client_for_each_provider_type() {
        try (var clients = new InferenceClients()) {
            assertThat(clients.create(provider("a", ProviderType.OPENAI, 1), "m")).isInstanceOf(OpenAiClient.class);
            assertThat(clients.create(provider("b", ProviderType.OLLAMA, 1), "m")).isInstanceOf(OllamaClient.class);
            assertThat(clients.create(provider("c", ProviderType.MODAL, 1), "m")).isInstanceOf(ModalClient.class);
            assertThat(clients.create(provider("d", ProviderType.SIMULATED, 1), "m")).isInstanceOf(SimulatedClient.class);
        }
    }

    @Test
    void the_default_pool_is_far_above_reactor_nettys_default() {
        try (var clients = new InferenceClients()) {
            assertThat(clients.maxConnections()).isEqualTo(InferenceClients.DEFAULT_MAX_CONNECTIONS);
        }
    }

    @Test
    void a_pool_for_given_providers_fits_their_summed_concurrency() {
        var providers = List.of(provider("a", ProviderType.OPENAI, 500), provider("b", ProviderType.MODAL, 600));
        try (var clients = InferenceClients.forProviders(providers)) {
            assertThat(clients.maxConnections()).isEqualTo(1100 + InferenceClients.CONNECTION_MARGIN);
        }
        try (var clients = InferenceClients.forProviders(List.of(provider("a", ProviderType.OPENAI, 4)))) {
            assertThat(clients.maxConnections()).isEqualTo(64);
        }
    }

    @Test
    void the_simulated_client_is_named_after_the_remote_model_when_set() {
        var withRemote = new ProviderConfig("sim", ProviderType.SIMULATED, null, null, "other-model", 1, Duration.ofSeconds(1),
                new SimulationSettings(Duration.ZERO, Duration.ZERO, 0.0));
        var request = new InferenceRequest("m", "eu", null, "Hello?", 0.1, 100, 1L);
        try (var clients = new InferenceClients()) {
            assertThat(clients.create(withRemote, "m").infer(request).block(Duration.ofSeconds(5)).text()).contains("other-model");
            assertThat(clients.create(provider("sim2", ProviderType.SIMULATED, 1), "m").infer(request).block(Duration.ofSeconds(5)).text())
                    .contains(" m would say");
        }
    }

    @Test
    void rejects_nonsensical_sizes() {
        assertThatThrownBy(() -> new InferenceClients(0, 1, Schedulers.parallel())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new InferenceClients(1, 0, Schedulers.parallel())).isInstanceOf(IllegalArgumentException.class);
    }
}
