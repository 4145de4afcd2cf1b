package dev.beacon.runner.core.endpoint;

import dev.beacon.runner.core.domain.EndpointId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The endpoints configured on this runner, in configuration order. Immutable. */
public final class EndpointCatalog {

    private final Map<EndpointId, EndpointConfig> byId = new LinkedHashMap<>();
    private final Map<String, List<String>> regionsByModel = new LinkedHashMap<>();

    public EndpointCatalog(List<EndpointConfig> endpoints) {
        Set<String> providerIds = new HashSet<>();
        for (EndpointConfig e : endpoints) {
            if (byId.putIfAbsent(e.id(), e) != null) {
                throw new IllegalArgumentException("endpoint " + e.id() + " is configured twice");
            }
            for (ProviderConfig p : e.providers()) {
                if (!providerIds.add(p.id())) {
                    throw new IllegalArgumentException("provider id '" + p.id() + "' is used by more than one endpoint");
                }
            }
            regionsByModel.computeIfAbsent(e.id().model(), m -> new ArrayList<>()).add(e.id().region());
        }
    }

    public List<EndpointConfig> endpoints() {
        return List.copyOf(byId.values());
    }

    public Optional<EndpointConfig> find(EndpointId id) {
        return Optional.ofNullable(byId.get(id));
    }

    public boolean hasModel(String model) {
        return regionsByModel.containsKey(model);
    }

    /** Regions in which {@code model} is configured, in configuration order; empty if unknown. */
    public List<String> regionsOf(String model) {
        return Collections.unmodifiableList(regionsByModel.getOrDefault(model, List.of()));
    }

    public Set<String> models() {
        return Collections.unmodifiableSet(regionsByModel.keySet());
    }
}
