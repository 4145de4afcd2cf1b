package dev.beacon.runner.core.endpoint;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * One way to reach an endpoint.
 *
 * @param id             unique among all providers of this runner, e.g. {@code modal-eu}
 * @param url            base URL; {@code null} only for {@code simulated}
 * @param apiKey         bearer token, or {@code null}; never logged or returned
 * @param remoteModel    the model name the provider expects, if it differs from the endpoint's model
 * @param maxConcurrency calls in flight to this provider across all jobs of this instance
 * @param timeout        time allowed for one attempt
 */
public record ProviderConfig(
        String id,
        ProviderType type,
        URI url,
        String apiKey,
        String remoteModel,
        int maxConcurrency,
        Duration timeout,
        SimulationSettings simulation) {

    public ProviderConfig {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("provider id must not be blank");
        }
        Objects.requireNonNull(type, "type");
        if (type != ProviderType.SIMULATED && url == null) {
            throw new IllegalArgumentException("provider '" + id + "' of type " + type.id() + " must have a url");
        }
        if (url != null && !("http".equals(url.getScheme()) || "https".equals(url.getScheme()))) {
            throw new IllegalArgumentException("provider '" + id + "' url must be http or https, but was '" + url + "'");
        }
        if (maxConcurrency < 1 || maxConcurrency > 10_000) {
            throw new IllegalArgumentException("provider '" + id + "' max-concurrency must be between 1 and 10000, but was " + maxConcurrency);
        }
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("provider '" + id + "' timeout must be positive, but was " + timeout);
        }
        simulation = simulation == null ? SimulationSettings.DEFAULT : simulation;
    }

    public boolean hasApiKey() {
        return apiKey != null && !apiKey.isBlank();
    }

    /** The provider without its secret, for views and logs. */
    @Override
    public String toString() {
        return "ProviderConfig[id=" + id + ", type=" + type.id() + ", url=" + url + ", apiKey=" + (hasApiKey() ? "***" : "none")
                + ", maxConcurrency=" + maxConcurrency + ", timeout=" + timeout + "]";
    }
}
