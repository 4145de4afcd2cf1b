package dev.beacon.runner.core.endpoint;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One way to reach an endpoint.
 *
 * @param id             unique among all providers of this runner, e.g. {@code modal-eu}
 * @param url            base URL; {@code null} only for {@code simulated}
 * @param apiKey         bearer token, or {@code null}; never logged or returned
 * @param remoteModel    the model name the provider expects, if it differs from the endpoint's model, else {@code null}
 * @param maxConcurrency calls in flight to this provider across all jobs of this instance
 * @param timeout        time allowed for one attempt
 * @param simulation     how a {@code simulated} provider behaves; {@link SimulationSettings#DEFAULT} when given {@code null}
 * @param recordHeaders  response headers whose values are kept with each answer as its provenance,
 *                       lower-case; never one that can carry a secret ({@link #SECRET_HEADERS});
 *                       {@link #DEFAULT_RECORD_HEADERS} when given {@code null}
 * @param adaptive       whether {@code maxConcurrency} is a ceiling the limit backs off from when the
 *                       provider answers 429 or 503 (halved, at least 1) and regrows to (by 1 per run
 *                       of successes)
 */
public record ProviderConfig(
        String id,
        ProviderType type,
        @Nullable URI url,
        @Nullable String apiKey,
        @Nullable String remoteModel,
        int maxConcurrency,
        Duration timeout,
        SimulationSettings simulation,
        List<String> recordHeaders,
        boolean adaptive) {

    /** Recorded with every answer unless a provider names its own. */
    public static final List<String> DEFAULT_RECORD_HEADERS = List.of("x-request-id");

    /** Headers that authenticate or track a caller: recording them would store a secret. */
    public static final Set<String> SECRET_HEADERS = Set.of("authorization", "proxy-authorization", "cookie", "set-cookie",
            "x-api-key", "api-key", "x-auth-token", "proxy-authenticate", "www-authenticate");

    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9a-z-]+");

    /** A provider that records the {@link #DEFAULT_RECORD_HEADERS}. */
    public ProviderConfig(String id, ProviderType type, @Nullable URI url, @Nullable String apiKey, @Nullable String remoteModel,
                          int maxConcurrency, Duration timeout, @Nullable SimulationSettings simulation) {
        this(id, type, url, apiKey, remoteModel, maxConcurrency, timeout, simulation, DEFAULT_RECORD_HEADERS, false);
    }

    /** A provider with a fixed concurrency limit. */
    public ProviderConfig(String id, ProviderType type, @Nullable URI url, @Nullable String apiKey, @Nullable String remoteModel,
                          int maxConcurrency, Duration timeout, @Nullable SimulationSettings simulation,
                          @Nullable List<String> recordHeaders) {
        this(id, type, url, apiKey, remoteModel, maxConcurrency, timeout, simulation, recordHeaders, false);
    }

    // Not compact: simulation and recordHeaders may be given as null (the defaults), but are never null here.
    public ProviderConfig(String id, ProviderType type, @Nullable URI url, @Nullable String apiKey, @Nullable String remoteModel,
                          int maxConcurrency, Duration timeout, @Nullable SimulationSettings simulation,
                          @Nullable List<String> recordHeaders, boolean adaptive) {
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
        List<String> names = new ArrayList<>();
        for (String header : recordHeaders == null ? DEFAULT_RECORD_HEADERS : recordHeaders) {
            String name = header == null ? "" : header.strip().toLowerCase(Locale.ROOT);
            if (!HEADER_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("provider '" + id + "' record-headers must be header names, but was '" + header + "'");
            }
            if (SECRET_HEADERS.contains(name)) {
                throw new IllegalArgumentException("provider '" + id + "' record-headers must not name '" + name + "': it can carry a secret");
            }
            if (!names.contains(name)) {
                names.add(name);
            }
        }
        this.id = id;
        this.type = type;
        this.url = url;
        this.apiKey = apiKey;
        this.remoteModel = remoteModel;
        this.maxConcurrency = maxConcurrency;
        this.timeout = timeout;
        this.simulation = simulation == null ? SimulationSettings.DEFAULT : simulation;
        this.recordHeaders = List.copyOf(names);
        this.adaptive = adaptive;
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
