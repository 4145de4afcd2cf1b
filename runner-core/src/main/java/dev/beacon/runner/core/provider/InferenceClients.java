package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.endpoint.ProviderConfig;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionPoolMetrics;
import reactor.netty.resources.ConnectionProvider;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Creates the {@link InferenceClient} for a configured provider. All HTTP clients it creates share
 * one Reactor Netty connection pool and one JSON mapper; {@link #close()} releases the pool.
 *
 * <p>The pool is sized explicitly: Reactor Netty's default ({@code max(cores, 8) × 2}, 16 on two
 * cores) would silently cap concurrency below the providers' {@code max-concurrency}. Requests
 * waiting for a connection queue without limit; the caller's attempt timeout bounds the wait.
 */
public final class InferenceClients implements InferenceClientFactory, AutoCloseable {

    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    public static final int DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

    /** Head-room over the summed provider concurrency, for redirect hops and connections still closing. */
    static final int CONNECTION_MARGIN = 32;

    private final ConnectionProvider pool;
    /** The pool's own counts per remote address (connections idle, acquired, …), as Reactor Netty reports them. */
    private final Map<SocketAddress, ConnectionPoolMetrics> poolMetrics = new ConcurrentHashMap<>();
    private final HttpClient http;
    private final JsonMapper json;
    private final int maxBodyBytes;
    private final Scheduler simulationScheduler;
    private final Clock clock;

    /** A factory with {@value #DEFAULT_MAX_CONNECTIONS} connections, a 2 MiB body limit and the parallel scheduler. */
    public InferenceClients() {
        this(DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_BODY_BYTES, Schedulers.parallel());
    }

    /**
     * @param maxConnections      connections per remote address; at least the providers' summed concurrency
     * @param maxBodyBytes        largest successful response body accepted, larger ones fail as {@code BODY_TOO_LARGE}
     * @param simulationScheduler where {@code simulated} providers wait out their latency
     */
    public InferenceClients(int maxConnections, int maxBodyBytes, Scheduler simulationScheduler) {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be positive, but was " + maxConnections);
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive, but was " + maxBodyBytes);
        }
        this.maxBodyBytes = maxBodyBytes;
        this.simulationScheduler = Objects.requireNonNull(simulationScheduler, "simulationScheduler");
        this.clock = Clock.systemUTC();
        this.json = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
        // Fill Jackson's deserializer and serializer caches now: the first concurrent calls would
        // otherwise take the caches' lock on an event loop.
        json.writeValueAsString(json.readTree("{\"warm\":[1,\"x\",true,null,{}]}"));
        this.pool = ConnectionProvider.builder("beacon-providers")
                .maxConnections(maxConnections)
                .pendingAcquireMaxCount(-1)
                // Effectively unbounded: the engine's attempt timeout is the real limit.
                .pendingAcquireTimeout(Duration.ofMinutes(30))
                // Below typical server keep-alive timeouts, so we rarely reuse a connection the server is closing.
                .maxIdleTime(Duration.ofSeconds(20))
                .maxLifeTime(Duration.ofMinutes(5))
                .evictInBackground(Duration.ofSeconds(30))
                .metrics(true, () -> new ConnectionProvider.MeterRegistrar() {
                    @Override
                    public void registerMetrics(String poolName, String id, SocketAddress remoteAddress, ConnectionPoolMetrics metrics) {
                        poolMetrics.put(remoteAddress, metrics);
                    }

                    @Override
                    public void deRegisterMetrics(String poolName, String id, SocketAddress remoteAddress) {
                        poolMetrics.remove(remoteAddress);
                    }
                })
                .build();
        this.http = HttpClient.create(pool)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                // Reactor Netty's client meters (reactor.netty.http.client.*, Micrometer's global
                // registry), with the URI reduced to the protocol's route so tags stay bounded.
                .metrics(true, InferenceClients::routeOf);
    }

    /** The protocol route of a request path: {@code /v1/chat/completions}, {@code /api/chat}, or {@code /} (Modal). */
    static String routeOf(String path) {
        if (path.endsWith("/v1/chat/completions")) {
            return "/v1/chat/completions";
        }
        if (path.endsWith("/api/chat")) {
            return "/api/chat";
        }
        return "/";
    }

    /**
     * A factory whose pool fits the given providers: their summed {@code max-concurrency} plus a margin,
     * with the default body limit and the parallel scheduler.
     */
    public static InferenceClients forProviders(Collection<ProviderConfig> providers) {
        long total = providers.stream().mapToLong(ProviderConfig::maxConcurrency).sum();
        int connections = (int) Math.min(100_000, Math.max(64, total + CONNECTION_MARGIN));
        return new InferenceClients(connections, DEFAULT_MAX_BODY_BYTES, Schedulers.parallel());
    }

    /**
     * Creates the client for {@code config}, sending {@code config.remoteModel()} as the model name if
     * set, else {@code endpointModel}.
     */
    public InferenceClient create(ProviderConfig config, String endpointModel) {
        String model = config.remoteModel() != null && !config.remoteModel().isBlank() ? config.remoteModel() : endpointModel;
        Objects.requireNonNull(model, "endpointModel");
        return switch (config.type()) {
            case OPENAI -> new OpenAiClient(transport(config), url(config), model);
            case OLLAMA -> new OllamaClient(transport(config), url(config), model);
            case MODAL -> new ModalClient(transport(config), url(config), model);
            case SIMULATED -> new SimulatedClient(config.id(), model, config.simulation(), simulationScheduler);
        };
    }

    /** A remote provider's base URL, which {@link ProviderConfig} requires of every type but {@code simulated}. */
    private static URI url(ProviderConfig config) {
        return Objects.requireNonNull(config.url(), () -> "provider '" + config.id() + "' of type " + config.type().id() + " has no url");
    }

    private ProviderTransport transport(ProviderConfig config) {
        return new ProviderTransport(http, json, config.id(), config.apiKey(), maxBodyBytes, clock, config.recordHeaders());
    }

    /** The connections each remote address may have open at once. */
    int maxConnections() {
        return pool.maxConnections();
    }

    /**
     * Connections to {@code port} on any host that are open and back in the pool, ready for reuse
     * (0 before the first one opened). A call's answer is emitted just before its connection is
     * released, so this is how a test knows the release has happened.
     */
    int idleConnections(int port) {
        return poolMetrics.entrySet().stream()
                .filter(e -> e.getKey() instanceof InetSocketAddress a && a.getPort() == port)
                .mapToInt(e -> e.getValue().idleSize())
                .sum();
    }

    /** Closes the pool's connections; emits when done. Clients created earlier stop working. */
    /** The client for one provider of {@code endpoint}; see {@link #create(ProviderConfig, String)}. */
    @Override
    public InferenceClient create(dev.beacon.runner.core.domain.EndpointId endpoint, ProviderConfig provider) {
        return create(provider, endpoint.model());
    }

    public Mono<Void> disposeLater() {
        return pool.disposeLater();
    }

    /** Closes the pool's connections, waiting at most a few seconds. */
    @Override
    public void close() {
        pool.disposeLater().block(Duration.ofSeconds(5));
    }
}
