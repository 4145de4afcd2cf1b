package dev.beacon.runner.web.config;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.dispatch.DispatcherSettings;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.SubmissionLimits;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.hibernate.validator.constraints.Range;
import org.hibernate.validator.constraints.time.DurationMin;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;

/**
 * The {@code beacon.runner.*} settings listed in the README's "Configuration", bound through the
 * constructors of these records (defaults in {@link DefaultValue @DefaultValue}, durations, URLs and
 * sizes converted by Spring Boot).
 *
 * <p>A bad value fails start-up with an {@link InvalidConfigurationPropertyValueException} that names
 * the property, e.g. {@code beacon.runner.endpoints[2].providers[0].url}: a rule about one property
 * alone is a Bean Validation constraint on its component, checked once the properties are bound; a rule
 * the core owns (names, a URL for remote providers, a heartbeat within the lease, unique ids) is checked
 * when the values become the core's ({@link EndpointCatalog}, {@link JobDefaults}, …). Both happen in
 * {@code PropertiesMapping}.
 *
 * <p>Nullness: a component that has neither a default nor {@code @NotNull} is {@code @Nullable} (it is
 * absent when not configured); one with a {@code @NotNull} constraint may be bound as {@code null} too,
 * but fails start-up then, before anything reads it.
 *
 * @param endpoints   Endpoints (one model in one region) this runner can ask, in the order views list them.
 * @param defaults    Values a job gets for every optional field it leaves out.
 * @param limits      Bounds on what one submission may ask for.
 * @param security    Bearer tokens for the HTTP API.
 * @param web         The HTTP API: whether it is mounted, and where.
 * @param dispatcher  The part that claims queued jobs from the store and runs them.
 * @param receipts    The Ed25519 key that signs execution receipts.
 * @param persistence Where jobs are stored (the database itself is {@code spring.r2dbc.url}).
 * @param analysis    The comparison's statistics (README, "Comparison: the region-effect test and refusals").
 * @param observability What the runner may change for the whole JVM to make its logs and traces richer (off unless set).
 */
@ConfigurationProperties("beacon.runner")
public record BeaconRunnerProperties(
        List<@Valid @Nullable Endpoint> endpoints,
        @Valid @DefaultValue Defaults defaults,
        @Valid @DefaultValue Limits limits,
        @Valid @DefaultValue Security security,
        @Valid @DefaultValue Web web,
        @Valid @DefaultValue Dispatcher dispatcher,
        @Valid @DefaultValue Receipts receipts,
        @Valid @DefaultValue Persistence persistence,
        @Valid @DefaultValue Analysis analysis,
        @DefaultValue Observability observability) implements InitializingBean {

    public BeaconRunnerProperties {
        endpoints = copy(endpoints);
    }

    /**
     * Checks every constraint once the properties are bound, so that a bad value fails start-up.
     *
     * @throws InvalidConfigurationPropertyValueException naming the first offending property
     */
    @Override
    public void afterPropertiesSet() {
        PropertiesMapping.validate(this, PropertiesMapping.PREFIX);
    }

    /**
     * The configured endpoints as a catalog.
     *
     * @throws InvalidConfigurationPropertyValueException naming the first offending property
     */
    public EndpointCatalog toEndpointCatalog() {
        return PropertiesMapping.endpointCatalog(endpoints);
    }

    /**
     * The server defaults for optional job fields.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public JobDefaults toJobDefaults() {
        return PropertiesMapping.jobDefaults(defaults);
    }

    /**
     * The bounds on one submission.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public SubmissionLimits toSubmissionLimits() {
        return PropertiesMapping.submissionLimits(limits);
    }

    /**
     * The dispatcher's settings for this instance.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public DispatcherSettings toDispatcherSettings(String instanceId) {
        return PropertiesMapping.dispatcherSettings(dispatcher, instanceId);
    }

    /**
     * The comparison's statistical settings.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public AnalysisSettings toAnalysisSettings() {
        return PropertiesMapping.analysisSettings(analysis);
    }

    /**
     * The configured receipt signer; empty when neither key is set (the caller then signs with an
     * ephemeral key).
     *
     * @throws InvalidConfigurationPropertyValueException naming the missing or unreadable key (never its value)
     */
    public Optional<ReceiptSigner> toReceiptSigner() {
        return PropertiesMapping.receiptSigner(receipts);
    }

    /** An unmodifiable copy that keeps {@code null} elements (the mapping names them), empty for {@code null}. */
    private static <T> List<T> copy(@Nullable List<T> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }

    /**
     * One model served in one region.
     *
     * @param model     The model's name as jobs ask for it, e.g. {@code mistral-7b}.
     * @param region    The region the model is served in, e.g. {@code eu}.
     * @param providers How the endpoint is reached, tried in order; all serve the same model in the same region.
     */
    public record Endpoint(@Nullable String model, @Nullable String region, List<@Valid @Nullable Provider> providers) {

        public Endpoint {
            providers = copy(providers);
        }
    }

    /**
     * One way to reach an endpoint.
     *
     * @param id             Unique among all providers of this runner, e.g. {@code modal-eu}.
     * @param type           Wire protocol: {@code openai}, {@code ollama}, {@code modal} or {@code simulated}.
     * @param url            Base URL; not needed for {@code simulated}.
     * @param apiKey         Bearer token sent to the provider; never logged or returned by the API.
     * @param remoteModel    Model name the provider expects, when it differs from the endpoint's model.
     * @param maxConcurrency Calls in flight to this provider across all jobs of this instance; more calls queue.
     * @param timeout        Time allowed for one attempt.
     * @param latency        {@code simulated} only: mean latency of an answer.
     * @param jitter         {@code simulated} only: the latency varies uniformly by up to this much either way.
     * @param failureRate    {@code simulated} only: share of attempts (0 to 1) that fail with a transient 503.
     * @param recordHeaders  Response headers kept with each answer as its provenance; never one that can carry a secret.
     * @param adaptive       Whether max-concurrency is a ceiling the limit backs off from on 429/503 and regrows to.
     */
    public record Provider(
            @Nullable String id,
            // A string, parsed by the mapping: its message lists the types, where Boot's enum conversion would not.
            @DefaultValue("simulated") String type,
            @Nullable URI url,
            @Nullable String apiKey,
            @Nullable String remoteModel,
            @DefaultValue("4") @Range(min = 1, max = 10_000) int maxConcurrency,
            @DefaultValue("PT2M") @NotNull @DurationMin(inclusive = false) Duration timeout,
            @DefaultValue("PT0.3S") @NotNull @DurationMin Duration latency,
            @DefaultValue("PT0.2S") @NotNull @DurationMin Duration jitter,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("1") double failureRate,
            @DefaultValue("x-request-id") List<String> recordHeaders,
            @DefaultValue("false") boolean adaptive) {

        /** Hides the api key. */
        @Override
        public String toString() {
            return "Provider[id=" + id + ", type=" + type + ", url=" + url + ", apiKey=" + (apiKey == null || apiKey.isBlank() ? "none" : "***") + "]";
        }
    }

    /**
     * Values for the optional fields of a job.
     *
     * @param concurrency      At most this many cells of one question in flight at once.
     * @param executionTimeout Time allowed for one cell, across all its attempts and providers.
     * @param jobTimeout       Time allowed for a whole job, from its start.
     * @param maxAttempts      Attempts per provider of a cell, the first one included.
     * @param minSuccessRate   Share of cells (0 to 1) that must succeed for a job to end {@code PARTIAL} rather than {@code FAILED}.
     */
    public record Defaults(
            @DefaultValue("10") @Range(min = 1, max = 256) int concurrency,
            @DefaultValue("PT2M") @NotNull @DurationMin(inclusive = false) Duration executionTimeout,
            @DefaultValue("PT30M") @NotNull @DurationMin(inclusive = false) Duration jobTimeout,
            @DefaultValue("3") @Range(min = 1, max = 10) int maxAttempts,
            @DefaultValue("0.67") @DecimalMin("0") @DecimalMax("1") double minSuccessRate) {
    }

    /**
     * Bounds on one submission.
     *
     * @param maxQuestions     Most questions one job may have.
     * @param maxQuestionChars Most characters of one question's text (and of the system prompt).
     * @param maxBodyBytes     Largest accepted request body (bytes unless a unit is given, e.g. {@code 2MB}); a larger one gets 413 and is never buffered whole.
     */
    public record Limits(
            @DefaultValue("1000") @Positive int maxQuestions,
            @DefaultValue("8000") @Positive int maxQuestionChars,
            @DefaultValue("1048576") @DataSizeUnit(DataUnit.BYTES) @NotNull DataSize maxBodyBytes) {
    }

    /**
     * Who may call the API.
     *
     * @param tokens    Bearer tokens accepted on the API; blank entries are ignored. With none configured the API
     *                  is open (a warning is logged at start-up).
     * @param openReads Whether reads ({@code GET}) are allowed without a token when tokens are configured.
     *                  Submitting and cancelling always need one then.
     */
    public record Security(List<@Nullable String> tokens, @DefaultValue("true") boolean openReads) {

        public Security {
            tokens = copy(tokens);
        }

        /** The configured tokens without blank entries. */
        public List<String> effectiveTokens() {
            return PropertiesMapping.effectiveTokens(this);
        }

        @Override
        public String toString() {
            return "Security[tokens=" + effectiveTokens().size() + " configured, openReads=" + openReads + "]";
        }
    }

    /**
     * The HTTP API.
     *
     * @param enabled      Whether the runner's routes are mounted.
     * @param basePath     Path prefix of every route, e.g. {@code /runner}; empty mounts them at the root.
     * @param sseKeepAlive Interval of the {@code : keep-alive} comment on an idle event stream.
     */
    public record Web(
            @DefaultValue("true") boolean enabled,
            @DefaultValue("") String basePath,
            @DefaultValue("PT15S") @NotNull @DurationMin(inclusive = false) Duration sseKeepAlive) {
    }

    /**
     * Claiming and running queued jobs on this instance.
     *
     * @param enabled         Whether this instance runs jobs; an API-only instance sets it to false.
     * @param instanceId      Name of this instance in leases and {@code job.started} events; defaults to host name and process id.
     * @param capacity        Jobs this instance runs at once.
     * @param lease           How long a claimed job stays owned without a heartbeat.
     * @param heartbeat       How often the owner renews its leases; well below {@code lease}.
     * @param pollInterval    How often the store is polled for queued jobs and new events even without a wake-up signal
     *                        (a safety net for a lost signal).
     * @param shutdownTimeout Longest wait, on shutdown, for running jobs to stop and release their leases.
     */
    public record Dispatcher(
            @DefaultValue("true") boolean enabled,
            @Nullable String instanceId,
            @DefaultValue("32") @Range(min = 1, max = 10_000) int capacity,
            @DefaultValue("PT30S") @NotNull @DurationMin(inclusive = false) Duration lease,
            @DefaultValue("PT10S") @NotNull @DurationMin(inclusive = false) Duration heartbeat,
            @DefaultValue("PT5S") @NotNull @DurationMin(inclusive = false) Duration pollInterval,
            @DefaultValue("PT20S") @NotNull @DurationMin Duration shutdownTimeout) {
    }

    /**
     * The runner's tables.
     *
     * @param migrate       Apply the schema migrations at start-up (against {@code spring.r2dbc.url}).
     * @param schema        Database schema for the runner's tables, e.g. {@code beacon}; empty for the connection's default.
     * @param timeout       Longest wait for the database in one store operation; past it the operation fails (the API
     *                      answers 503 with Retry-After) instead of hanging while the database is unreachable.
     * @param embeddedPath  File of the embedded H2 database the runner uses when the host has no database at all (no
     *                      {@code spring.r2dbc.url}, no {@code ConnectionFactory}); H2 adds {@code .mv.db}. Relative to the
     *                      working directory unless absolute.
     * @param healthTimeout Longest wait for the database health check ({@code beaconDatabase}) before it reports DOWN.
     */
    public record Persistence(
            @DefaultValue("true") boolean migrate,
            @Nullable String schema,
            @DefaultValue("PT10S") @NotNull @DurationMin(inclusive = false) Duration timeout,
            @DefaultValue("./data/beacon") String embeddedPath,
            @DefaultValue("PT1S") @NotNull @DurationMin(inclusive = false) Duration healthTimeout) {

        /** An empty {@code schema} is the connection's default, {@code null}. */
        public Persistence {
            schema = schema == null || schema.isBlank() ? null : schema.strip();
        }
    }

    /**
     * The region-effect test of the comparison.
     *
     * @param alpha        False discovery rate: a (question, model) is divergent when its Benjamini–Hochberg q-value is
     *                     below it. Strictly between 0 and 1.
     * @param permutations Random relabelings per region-effect test, 99 to 1000000; the smallest possible p-value is
     *                     1 / (permutations + 1).
     */
    public record Analysis(
            @DefaultValue("0.05") @DecimalMin(value = "0", inclusive = false) @DecimalMax(value = "1", inclusive = false) double alpha,
            @DefaultValue("9999") @Range(min = AnalysisSettings.MIN_PERMUTATIONS, max = AnalysisSettings.MAX_PERMUTATIONS) int permutations) {
    }

    /**
     * Process-wide settings the runner makes only when asked, since they reach beyond its own beans.
     *
     * @param mdc                      Register the runner's MDC accessor with Micrometer's global context registry, so that its
     *                                 log lines carry {@code jobId}, {@code questionId}, … (other libraries' lines in a job too with {@code spring.reactor.context-propagation=auto}).
     * @param reactorNettyObservations Hand the host's {@code ObservationRegistry} to Reactor Netty's process-wide
     *                                 {@code Metrics.observationRegistry}, so that provider exchanges nest under the runner's observations.
     */
    public record Observability(@DefaultValue("false") boolean mdc, @DefaultValue("false") boolean reactorNettyObservations) {
    }

    /**
     * The receipt signing key; without one an ephemeral key is generated at start-up.
     *
     * @param privateKey Ed25519 private key, PKCS#8, base64 (as written by {@code openssl genpkey -algorithm ed25519}).
     * @param publicKey  Ed25519 public key, X.509, base64; required with {@code private-key}.
     */
    public record Receipts(@Nullable String privateKey, @Nullable String publicKey) {

        /** Hides the private key. */
        @Override
        public String toString() {
            return "Receipts[privateKey=" + (privateKey == null ? "none" : "***") + "]";
        }
    }
}
