package dev.beacon.runner.core.endpoint;

import dev.beacon.runner.core.domain.EndpointId;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/** A configured endpoint and its providers, tried in order. */
public record EndpointConfig(EndpointId id, List<ProviderConfig> providers) {

    public EndpointConfig {
        Objects.requireNonNull(id, "id");
        providers = List.copyOf(providers);
        if (providers.isEmpty()) {
            throw new IllegalArgumentException("endpoint " + id + " must have at least one provider");
        }
        var ids = new HashSet<String>();
        for (ProviderConfig p : providers) {
            if (!ids.add(p.id())) {
                throw new IllegalArgumentException("endpoint " + id + " lists provider '" + p.id() + "' twice");
            }
        }
    }
}
