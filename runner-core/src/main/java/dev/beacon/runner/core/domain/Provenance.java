package dev.beacon.runner.core.domain;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a provider said about itself when it answered (README, API: "Execution view"): the model it says it served,
 * its system fingerprint, its id for the response, and the response headers its configuration names
 * ({@code record-headers}). Any of them may be {@code null} (the protocol gives no such field, or the
 * provider left it out); a header that was not sent is absent from {@code headers}.
 */
public record Provenance(
        @Nullable String servedModel, @Nullable String systemFingerprint, @Nullable String responseId, Map<String, String> headers) {

    /** Nothing reported. */
    public static final Provenance NONE = new Provenance(null, null, null, Map.of());

    /** {@code headers} null is no headers. */
    public Provenance(@Nullable String servedModel, @Nullable String systemFingerprint, @Nullable String responseId,
                      @Nullable Map<String, String> headers) {
        this.servedModel = servedModel;
        this.systemFingerprint = systemFingerprint;
        this.responseId = responseId;
        this.headers = headers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }

    /** Whether the provider reported anything at all. */
    public boolean isEmpty() {
        return servedModel == null && systemFingerprint == null && responseId == null && headers.isEmpty();
    }
}
