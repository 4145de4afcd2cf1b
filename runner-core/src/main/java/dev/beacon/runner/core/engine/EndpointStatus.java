package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionError;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** A configured endpoint as it is right now: its providers' circuits and load. No secrets. */
public record EndpointStatus(EndpointId id, List<Provider> providers) {

    public EndpointStatus {
        providers = List.copyOf(providers);
    }

    /**
     * @param limit        calls allowed at once now: {@code maxConcurrency}, or below it while an
     *                     adaptive provider backs off after 429 or 503 answers
     * @param circuitState {@code CLOSED}, {@code OPEN}, {@code HALF_OPEN}, …
     * @param lastError    the most recent failure of this provider, or {@code null}
     */
    public record Provider(String id, String type, @Nullable String url, int maxConcurrency, int limit, boolean adaptive,
                           String circuitState, int inFlight, int queued, @Nullable ExecutionError lastError) {
    }

    /** Calls in flight to this endpoint, over all its providers. */
    public int inFlight() {
        return providers.stream().mapToInt(Provider::inFlight).sum();
    }

    /** The endpoint's circuit: open only when every provider's circuit is open. */
    public String circuitState() {
        boolean allOpen = providers.stream().allMatch(p -> "OPEN".equals(p.circuitState()) || "FORCED_OPEN".equals(p.circuitState()));
        boolean anyNotClosed = providers.stream().anyMatch(p -> !"CLOSED".equals(p.circuitState()));
        return allOpen ? "OPEN" : anyNotClosed ? "DEGRADED" : "CLOSED";
    }
}
