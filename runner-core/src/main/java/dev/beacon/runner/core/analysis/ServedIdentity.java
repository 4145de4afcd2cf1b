package dev.beacon.runner.core.analysis;

import org.jspecify.annotations.Nullable;

/**
 * What a provider said it served for one answer (its provenance), as far as the comparison needs it.
 *
 * @param servedModel       the model the provider reported, or {@code null}
 * @param systemFingerprint the provider's system fingerprint, or {@code null}
 */
record ServedIdentity(@Nullable String servedModel, @Nullable String systemFingerprint) {
}
