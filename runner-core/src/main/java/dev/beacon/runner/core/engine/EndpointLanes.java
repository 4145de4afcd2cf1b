package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.scheduler.Scheduler;

/** The provider lanes of every configured endpoint, created once per runner and shared by all jobs. */
final class EndpointLanes {

    private final Map<EndpointId, List<ProviderLane>> lanes = new LinkedHashMap<>();

    EndpointLanes(EndpointCatalog catalog, InferenceClientFactory clients, CircuitBreakerRegistry circuits, Scheduler scheduler,
                  EngineMetrics metrics) {
        for (EndpointConfig endpoint : catalog.endpoints()) {
            List<ProviderLane> providers = new ArrayList<>();
            for (ProviderConfig provider : endpoint.providers()) {
                providers.add(new ProviderLane(endpoint.id(), provider, clients.create(endpoint.id(), provider),
                        circuits.circuitBreaker(provider.id()), scheduler, metrics));
            }
            lanes.put(endpoint.id(), List.copyOf(providers));
        }
    }

    List<ProviderLane> lanesOf(EndpointId endpoint) {
        List<ProviderLane> result = lanes.get(endpoint);
        if (result == null) {
            throw new IllegalArgumentException("endpoint " + endpoint + " is not configured");
        }
        return result;
    }

    List<ProviderLane> all() {
        return lanes.values().stream().flatMap(List::stream).toList();
    }

    List<EndpointStatus> statuses() {
        List<EndpointStatus> result = new ArrayList<>();
        lanes.forEach((id, providers) -> result.add(new EndpointStatus(id, providers.stream()
                .map(l -> new EndpointStatus.Provider(l.id(), l.config().type().id(),
                        l.config().url() == null ? null : l.config().url().toString(), l.config().maxConcurrency(),
                        l.gate().limit(), l.config().adaptive(), l.circuitBreaker().getState().name(), l.gate().inFlight(), l.gate().waiting(), l.lastError()))
                .toList())));
        return result;
    }
}
