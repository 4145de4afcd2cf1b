package dev.beacon.runner.core.endpoint;

import java.time.Duration;
import java.util.Objects;

/**
 * Behaviour of a {@code simulated} provider: a latency of {@code latency ± jitter} (uniform, seeded)
 * and a share of calls that fail with a transient {@code 503}.
 */
public record SimulationSettings(Duration latency, Duration jitter, double failureRate) {

    public static final SimulationSettings DEFAULT = new SimulationSettings(Duration.ofMillis(300), Duration.ofMillis(200), 0.0);

    public SimulationSettings {
        Objects.requireNonNull(latency, "latency");
        Objects.requireNonNull(jitter, "jitter");
        if (latency.isNegative()) {
            throw new IllegalArgumentException("latency must be >= 0, but was " + latency);
        }
        if (jitter.isNegative() || jitter.compareTo(latency) > 0) {
            throw new IllegalArgumentException("jitter must be between 0 and latency (" + latency + "), but was " + jitter);
        }
        if (!(failureRate >= 0 && failureRate <= 1)) {
            throw new IllegalArgumentException("failureRate must be between 0 and 1, but was " + failureRate);
        }
    }
}
