package dev.beacon.runner.web.config;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.dispatch.DispatcherSettings;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.endpoint.SimulationSettings;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.SubmissionLimits;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Binds the {@code beacon.runner.*} settings listed in the README's "Configuration" and turns them into the core's
 * value objects ({@link EndpointCatalog}, {@link JobDefaults}, {@link SubmissionLimits}). A value the
 * core rejects fails start-up with an {@link InvalidConfigurationPropertyValueException} that names
 * the property, e.g. {@code beacon.runner.endpoints[2].providers[0].url}.
 */
@ConfigurationProperties("beacon.runner")
public class BeaconRunnerProperties {

    private static final String PREFIX = "beacon.runner";

    /** Endpoints (one model in one region) this runner can ask, in the order views list them. */
    private List<Endpoint> endpoints = new ArrayList<>();

    /** Values a job gets for every optional field it leaves out. */
    private final Defaults defaults = new Defaults();

    /** Bounds on what one submission may ask for. */
    private final Limits limits = new Limits();

    /** Bearer tokens for the HTTP API. */
    private final Security security = new Security();

    /** The HTTP API: whether it is mounted, and where. */
    private final Web web = new Web();

    /** The part that claims queued jobs from the store and runs them. */
    private final Dispatcher dispatcher = new Dispatcher();

    /** The Ed25519 key that signs execution receipts. */
    private final Receipts receipts = new Receipts();

    /** Where jobs are stored (the database itself is {@code spring.r2dbc.url}). */
    private final Persistence persistence = new Persistence();

    /** The comparison's statistics (README, "Comparison: the region-effect test and refusals"). */
    private final Analysis analysis = new Analysis();

    public Persistence getPersistence() {
        return persistence;
    }

    public List<Endpoint> getEndpoints() {
        return endpoints;
    }

    public void setEndpoints(List<Endpoint> endpoints) {
        this.endpoints = endpoints == null ? new ArrayList<>() : endpoints;
    }

    public Defaults getDefaults() {
        return defaults;
    }

    public Limits getLimits() {
        return limits;
    }

    public Security getSecurity() {
        return security;
    }

    public Web getWeb() {
        return web;
    }

    public Dispatcher getDispatcher() {
        return dispatcher;
    }

    public Receipts getReceipts() {
        return receipts;
    }

    public Analysis getAnalysis() {
        return analysis;
    }

    /**
     * The configured endpoints as a catalog.
     *
     * @throws InvalidConfigurationPropertyValueException naming the first offending property
     */
    public EndpointCatalog toEndpointCatalog() {
        List<EndpointConfig> configs = new ArrayList<>();
        for (int i = 0; i < endpoints.size(); i++) {
            Endpoint e = endpoints.get(i);
            String path = PREFIX + ".endpoints[" + i + "]";
            if (e == null) {
                throw invalid(path, null, "must be an endpoint {model, region, providers}");
            }
            EndpointId id;
            try {
                id = new EndpointId(e.getModel(), e.getRegion());
            } catch (IllegalArgumentException ex) {
                boolean region = ex.getMessage() != null && ex.getMessage().startsWith("region");
                throw invalid(path + (region ? ".region" : ".model"), region ? e.getRegion() : e.getModel(), ex.getMessage());
            }
            if (e.getProviders().isEmpty()) {
                throw invalid(path + ".providers", "[]", "endpoint " + id + " must have at least one provider");
            }
            List<ProviderConfig> providers = new ArrayList<>();
            for (int j = 0; j < e.getProviders().size(); j++) {
                providers.add(provider(path + ".providers[" + j + "]", e.getProviders().get(j)));
            }
            EndpointId endpointId = id;
            configs.add(convert(path, endpointId.toString(), () -> new EndpointConfig(endpointId, providers)));
        }
        return convert(PREFIX + ".endpoints", configs.size() + " endpoints", () -> new EndpointCatalog(configs));
    }

    private static ProviderConfig provider(String path, Provider p) {
        if (p == null) {
            throw invalid(path, null, "must be a provider {id, type, url, …}");
        }
        ProviderType type = convert(path + ".type", p.getType(), () -> ProviderType.parse(p.getType()));
        URI url = null;
        if (p.getUrl() != null && !p.getUrl().isBlank()) {
            try {
                url = new URI(p.getUrl().strip());
            } catch (URISyntaxException e) {
                throw invalid(path + ".url", p.getUrl(), "must be an http or https URL: " + e.getReason());
            }
        }
        URI providerUrl = url;
        if (type != ProviderType.SIMULATED && providerUrl == null) {
            throw invalid(path + ".url", p.getUrl(), "a provider of type " + type.id() + " must have a url");
        }
        if (providerUrl != null && !("http".equals(providerUrl.getScheme()) || "https".equals(providerUrl.getScheme()))) {
            throw invalid(path + ".url", p.getUrl(), "must be an http or https URL");
        }
        if (p.getMaxConcurrency() < 1 || p.getMaxConcurrency() > 10_000) {
            throw invalid(path + ".max-concurrency", p.getMaxConcurrency(), "must be between 1 and 10000");
        }
        if (p.getTimeout() == null || p.getTimeout().isNegative() || p.getTimeout().isZero()) {
            throw invalid(path + ".timeout", p.getTimeout(), "must be a positive duration");
        }
        SimulationSettings simulation = convert(path + ".latency", p.getLatency(),
                () -> new SimulationSettings(p.getLatency(), p.getJitter(), p.getFailureRate()));
        String apiKey = p.getApiKey() == null || p.getApiKey().isBlank() ? null : p.getApiKey();
        String remoteModel = p.getRemoteModel() == null || p.getRemoteModel().isBlank() ? null : p.getRemoteModel();
        // The api key is never part of a failure message: the value reported is the provider id.
        return convert(path + ".id", p.getId(), () -> new ProviderConfig(p.getId(), type, providerUrl, apiKey, remoteModel,
                p.getMaxConcurrency(), p.getTimeout(), simulation, p.getRecordHeaders(), p.isAdaptive()));
    }

    /**
     * The server defaults for optional job fields.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public JobDefaults toJobDefaults() {
        Defaults d = defaults;
        String path = PREFIX + ".defaults";
        JobLimits jobLimits = convert(path, "concurrency=" + d.getConcurrency() + ", execution-timeout=" + d.getExecutionTimeout()
                        + ", job-timeout=" + d.getJobTimeout() + ", max-attempts=" + d.getMaxAttempts(),
                () -> new JobLimits(d.getConcurrency(), d.getExecutionTimeout(), d.getJobTimeout(), d.getMaxAttempts()));
        return convert(path + ".min-success-rate", d.getMinSuccessRate(),
                () -> new JobDefaults(InferenceParams.DEFAULT, jobLimits, d.getMinSuccessRate()));
    }

    /**
     * The bounds on one submission.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public SubmissionLimits toSubmissionLimits() {
        Limits l = limits;
        String path = PREFIX + ".limits";
        if (l.getMaxBodyBytes() > Integer.MAX_VALUE - 8) {
            throw invalid(path + ".max-body-bytes", l.getMaxBodyBytes(), "must be below 2 GiB");
        }
        return convert(path, "max-questions=" + l.getMaxQuestions() + ", max-question-chars=" + l.getMaxQuestionChars()
                        + ", max-body-bytes=" + l.getMaxBodyBytes(),
                () -> new SubmissionLimits(l.getMaxQuestions(), l.getMaxQuestionChars(), l.getMaxBodyBytes()));
    }

    /**
     * The dispatcher's settings for this instance.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public DispatcherSettings toDispatcherSettings(String instanceId) {
        Dispatcher d = dispatcher;
        String path = PREFIX + ".dispatcher";
        if (d.getLease() == null || d.getLease().isNegative() || d.getLease().isZero()) {
            throw invalid(path + ".lease", d.getLease(), "must be a positive duration");
        }
        if (d.getShutdownTimeout() == null || d.getShutdownTimeout().isNegative()) {
            throw invalid(path + ".shutdown-timeout", d.getShutdownTimeout(), "must be a duration >= 0");
        }
        convert(path + ".capacity", d.getCapacity(), () -> new DispatcherSettings(instanceId, d.getCapacity(), Duration.ofMinutes(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1)));
        convert(path + ".heartbeat", d.getHeartbeat(), () -> new DispatcherSettings(instanceId, d.getCapacity(), d.getLease(),
                d.getHeartbeat(), Duration.ofSeconds(1)));
        return convert(path + ".poll-interval", d.getPollInterval(), () -> new DispatcherSettings(instanceId, d.getCapacity(),
                d.getLease(), d.getHeartbeat(), d.getPollInterval()));
    }

    /**
     * The comparison's statistical settings.
     *
     * @throws InvalidConfigurationPropertyValueException naming the offending property
     */
    public AnalysisSettings toAnalysisSettings() {
        Analysis a = analysis;
        String path = PREFIX + ".analysis";
        if (!(a.getAlpha() > 0 && a.getAlpha() < 1)) {
            throw invalid(path + ".alpha", a.getAlpha(), "must be strictly between 0 and 1");
        }
        return convert(path + ".permutations", a.getPermutations(), () -> new AnalysisSettings(a.getAlpha(), a.getPermutations()));
    }

    private static <T> T convert(String property, Object value, Supplier<T> conversion) {
        try {
            return conversion.get();
        } catch (IllegalArgumentException | NullPointerException e) {
            throw invalid(property, value, e.getMessage());
        }
    }

    private static InvalidConfigurationPropertyValueException invalid(String property, Object value, String reason) {
        return new InvalidConfigurationPropertyValueException(property, value, Objects.toString(reason, "invalid value"));
    }

    /** One model served in one region. */
    public static class Endpoint {

        /** The model's name as jobs ask for it, e.g. {@code mistral-7b}. */
        private String model;

        /** The region the model is served in, e.g. {@code eu}. */
        private String region;

        /** How the endpoint is reached, tried in order; all serve the same model in the same region. */
        private List<Provider> providers = new ArrayList<>();

        public String getModel() {
            return model;
        }

        public void setModel(String model) {
            this.model = model;
        }

        public String getRegion() {
            return region;
        }

        public void setRegion(String region) {
            this.region = region;
        }

        public List<Provider> getProviders() {
            return providers;
        }

        public void setProviders(List<Provider> providers) {
            this.providers = providers == null ? new ArrayList<>() : providers;
        }
    }

    /** One way to reach an endpoint. */
    public static class Provider {

        /** Unique among all providers of this runner, e.g. {@code modal-eu}. */
        private String id;

        /** Wire protocol: {@code openai}, {@code ollama}, {@code modal} or {@code simulated}. */
        private String type = "simulated";

        /** Base URL; not needed for {@code simulated}. */
        private String url;

        /** Bearer token sent to the provider; never logged or returned by the API. */
        private String apiKey;

        /** Model name the provider expects, when it differs from the endpoint's model. */
        private String remoteModel;

        /** Calls in flight to this provider across all jobs of this instance; more calls queue. */
        private int maxConcurrency = 4;

        /** Time allowed for one attempt. */
        private Duration timeout = Duration.ofMinutes(2);

        /** {@code simulated} only: mean latency of an answer. */
        private Duration latency = Duration.ofMillis(300);

        /** {@code simulated} only: the latency varies uniformly by up to this much either way. */
        private Duration jitter = Duration.ofMillis(200);

        /** {@code simulated} only: share of attempts (0 to 1) that fail with a transient 503. */
        private double failureRate = 0.0;

        /** Whether max-concurrency is a ceiling the limit backs off from on 429/503 and regrows to. */
        private boolean adaptive = false;

        public boolean isAdaptive() {
            return adaptive;
        }

        public void setAdaptive(boolean adaptive) {
            this.adaptive = adaptive;
        }

        /** Response headers kept with each answer as its provenance; never one that can carry a secret. */
        private List<String> recordHeaders = new ArrayList<>(ProviderConfig.DEFAULT_RECORD_HEADERS);

        public List<String> getRecordHeaders() {
            return recordHeaders;
        }

        public void setRecordHeaders(List<String> recordHeaders) {
            this.recordHeaders = recordHeaders;
        }

        public String getId() {
            return id;
        }

        public void setId(String id) {
            this.id = id;
        }

        public String getType() {
            return type;
        }

        public void setType(String type) {
            this.type = type;
        }

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }

        public String getApiKey() {
            return apiKey;
        }

        public void setApiKey(String apiKey) {
            this.apiKey = apiKey;
        }

        public String getRemoteModel() {
            return remoteModel;
        }

        public void setRemoteModel(String remoteModel) {
            this.remoteModel = remoteModel;
        }

        public int getMaxConcurrency() {
            return maxConcurrency;
        }

        public void setMaxConcurrency(int maxConcurrency) {
            this.maxConcurrency = maxConcurrency;
        }

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }

        public Duration getLatency() {
            return latency;
        }

        public void setLatency(Duration latency) {
            this.latency = latency;
        }

        public Duration getJitter() {
            return jitter;
        }

        public void setJitter(Duration jitter) {
            this.jitter = jitter;
        }

        public double getFailureRate() {
            return failureRate;
        }

        public void setFailureRate(double failureRate) {
            this.failureRate = failureRate;
        }

        /** Hides the api key. */
        @Override
        public String toString() {
            return "Provider[id=" + id + ", type=" + type + ", url=" + url + ", apiKey=" + (apiKey == null || apiKey.isBlank() ? "none" : "***") + "]";
        }
    }

    /** Values for the optional fields of a job. */
    public static class Defaults {

        /** At most this many cells of one question in flight at once. */
        private int concurrency = 10;

        /** Time allowed for one cell, across all its attempts and providers. */
        private Duration executionTimeout = Duration.ofMinutes(2);

        /** Time allowed for a whole job, from its start. */
        private Duration jobTimeout = Duration.ofMinutes(30);

        /** Attempts per provider of a cell, the first one included. */
        private int maxAttempts = 3;

        /** Share of cells (0 to 1) that must succeed for a job to end {@code PARTIAL} rather than {@code FAILED}. */
        private double minSuccessRate = 0.67;

        public int getConcurrency() {
            return concurrency;
        }

        public void setConcurrency(int concurrency) {
            this.concurrency = concurrency;
        }

        public Duration getExecutionTimeout() {
            return executionTimeout;
        }

        public void setExecutionTimeout(Duration executionTimeout) {
            this.executionTimeout = executionTimeout;
        }

        public Duration getJobTimeout() {
            return jobTimeout;
        }

        public void setJobTimeout(Duration jobTimeout) {
            this.jobTimeout = jobTimeout;
        }

        public int getMaxAttempts() {
            return maxAttempts;
        }

        public void setMaxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
        }

        public double getMinSuccessRate() {
            return minSuccessRate;
        }

        public void setMinSuccessRate(double minSuccessRate) {
            this.minSuccessRate = minSuccessRate;
        }
    }

    /** Bounds on one submission. */
    public static class Limits {

        /** Most questions one job may have. */
        private int maxQuestions = 1000;

        /** Most characters of one question's text (and of the system prompt). */
        private int maxQuestionChars = 8000;

        /** Largest accepted request body in bytes; a larger one gets 413 and is never buffered whole. */
        private long maxBodyBytes = 1_048_576;

        public int getMaxQuestions() {
            return maxQuestions;
        }

        public void setMaxQuestions(int maxQuestions) {
            this.maxQuestions = maxQuestions;
        }

        public int getMaxQuestionChars() {
            return maxQuestionChars;
        }

        public void setMaxQuestionChars(int maxQuestionChars) {
            this.maxQuestionChars = maxQuestionChars;
        }

        public long getMaxBodyBytes() {
            return maxBodyBytes;
        }

        public void setMaxBodyBytes(long maxBodyBytes) {
            this.maxBodyBytes = maxBodyBytes;
        }
    }

    /** Who may call the API. */
    public static class Security {

        /**
         * Bearer tokens accepted on the API; blank entries are ignored. With none configured the API
         * is open (a warning is logged at start-up).
         */
        private List<String> tokens = new ArrayList<>();

        /**
         * Whether reads ({@code GET}) are allowed without a token when tokens are configured.
         * Submitting and cancelling always need one then.
         */
        private boolean openReads = true;

        public List<String> getTokens() {
            return tokens;
        }

        public void setTokens(List<String> tokens) {
            this.tokens = tokens == null ? new ArrayList<>() : tokens;
        }

        public boolean isOpenReads() {
            return openReads;
        }

        public void setOpenReads(boolean openReads) {
            this.openReads = openReads;
        }

        /** The configured tokens without blank entries. */
        public List<String> effectiveTokens() {
            return tokens.stream().filter(t -> t != null && !t.isBlank()).map(String::strip).toList();
        }

        @Override
        public String toString() {
            return "Security[tokens=" + effectiveTokens().size() + " configured, openReads=" + openReads + "]";
        }
    }

    /** The HTTP API. */
    public static class Web {

        /** Whether the runner's routes are mounted. */
        private boolean enabled = true;

        /** Path prefix of every route, e.g. {@code /runner}; empty mounts them at the root. */
        private String basePath = "";

        /** Interval of the {@code : keep-alive} comment on an idle event stream. */
        private Duration sseKeepAlive = Duration.ofSeconds(15);

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getBasePath() {
            return basePath;
        }

        public void setBasePath(String basePath) {
            this.basePath = basePath;
        }

        public Duration getSseKeepAlive() {
            return sseKeepAlive;
        }

        public void setSseKeepAlive(Duration sseKeepAlive) {
            this.sseKeepAlive = sseKeepAlive;
        }
    }

    /** Claiming and running queued jobs on this instance. */
    public static class Dispatcher {

        /** Whether this instance runs jobs; an API-only instance sets it to false. */
        private boolean enabled = true;

        /** Name of this instance in leases and {@code job.started} events; defaults to host name and process id. */
        private String instanceId;

        /** Jobs this instance runs at once. */
        private int capacity = 4;

        /** How long a claimed job stays owned without a heartbeat. */
        private Duration lease = Duration.ofSeconds(30);

        /** How often the owner renews its leases; well below {@code lease}. */
        private Duration heartbeat = Duration.ofSeconds(10);

        /**
         * How often the store is polled for queued jobs and new events even without a wake-up signal
         * (a safety net for a lost signal).
         */
        private Duration pollInterval = Duration.ofSeconds(5);

        /** Longest wait, on shutdown, for running jobs to stop and release their leases. */
        private Duration shutdownTimeout = Duration.ofSeconds(20);

        public Duration getPollInterval() {
            return pollInterval;
        }

        public void setPollInterval(Duration pollInterval) {
            this.pollInterval = pollInterval;
        }

        public Duration getShutdownTimeout() {
            return shutdownTimeout;
        }

        public void setShutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = shutdownTimeout;
        }

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getInstanceId() {
            return instanceId;
        }

        public void setInstanceId(String instanceId) {
            this.instanceId = instanceId;
        }

        public int getCapacity() {
            return capacity;
        }

        public void setCapacity(int capacity) {
            this.capacity = capacity;
        }

        public Duration getLease() {
            return lease;
        }

        public void setLease(Duration lease) {
            this.lease = lease;
        }

        public Duration getHeartbeat() {
            return heartbeat;
        }

        public void setHeartbeat(Duration heartbeat) {
            this.heartbeat = heartbeat;
        }
    }

    /** The runner's tables. */
    public static class Persistence {

        /** Apply the schema migrations at start-up (against {@code spring.r2dbc.url}). */
        private boolean migrate = true;

        /** Database schema for the runner's tables, e.g. {@code beacon}; empty for the connection's default. */
        private String schema;

        /**
         * Longest wait for the database in one store operation; past it the operation fails (the API
         * answers 503 with Retry-After) instead of hanging while the database is unreachable.
         */
        private Duration timeout = Duration.ofSeconds(10);

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }

        /**
         * File of the embedded H2 database the runner uses when the host has no database at all (no
         * {@code spring.r2dbc.url}, no {@code ConnectionFactory}); H2 adds {@code .mv.db}. Relative to the
         * working directory unless absolute.
         */
        private String embeddedPath = "./data/beacon";

        /** Longest wait for the database health check ({@code beaconDatabase}) before it reports DOWN. */
        private Duration healthTimeout = Duration.ofSeconds(1);

        public String getEmbeddedPath() {
            return embeddedPath;
        }

        public void setEmbeddedPath(String embeddedPath) {
            this.embeddedPath = embeddedPath;
        }

        public Duration getHealthTimeout() {
            return healthTimeout;
        }

        public void setHealthTimeout(Duration healthTimeout) {
            this.healthTimeout = healthTimeout;
        }

        public boolean isMigrate() {
            return migrate;
        }

        public void setMigrate(boolean migrate) {
            this.migrate = migrate;
        }

        public String getSchema() {
            return schema == null || schema.isBlank() ? null : schema.strip();
        }

        public void setSchema(String schema) {
            this.schema = schema;
        }
    }

    /** The region-effect test of the comparison. */
    public static class Analysis {

        /**
         * False discovery rate: a (question, model) is divergent when its Benjamini–Hochberg q-value is
         * below it. Strictly between 0 and 1.
         */
        private double alpha = 0.05;

        /**
         * Random relabelings per region-effect test, 99 to 1000000; the smallest possible p-value is
         * 1 / (permutations + 1).
         */
        private int permutations = 9999;

        public double getAlpha() {
            return alpha;
        }

        public void setAlpha(double alpha) {
            this.alpha = alpha;
        }

        public int getPermutations() {
            return permutations;
        }

        public void setPermutations(int permutations) {
            this.permutations = permutations;
        }
    }

    /** The receipt signing key; without one an ephemeral key is generated at start-up. */
    public static class Receipts {

        /** Ed25519 private key, PKCS#8, base64 (as written by {@code openssl genpkey -algorithm ed25519}). */
        private String privateKey;

        /** Ed25519 public key, X.509, base64; required with {@code private-key}. */
        private String publicKey;

        public String getPrivateKey() {
            return privateKey;
        }

        public void setPrivateKey(String privateKey) {
            this.privateKey = privateKey;
        }

        public String getPublicKey() {
            return publicKey;
        }

        public void setPublicKey(String publicKey) {
            this.publicKey = publicKey;
        }

        @Override
        public String toString() {
            return "Receipts[privateKey=" + (privateKey == null ? "none" : "***") + "]";
        }
    }
}
