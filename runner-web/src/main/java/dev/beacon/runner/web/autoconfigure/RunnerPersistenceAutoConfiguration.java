package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.InstanceNameLock;
import dev.beacon.runner.persistence.R2dbcJobSignals;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.persistence.SchemaMigrator;
import dev.beacon.runner.persistence.SqlDialect;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.io.ResourceLoader;

/**
 * Durable jobs in the database of the host's R2DBC {@link ConnectionFactory} ({@code spring.r2dbc.url}),
 * or of the runner's embedded default when the host has none ({@link RunnerEmbeddedDatabaseAutoConfiguration}):
 * applies the runner's schema migrations at start-up from that same URL (no second database setting),
 * then creates the {@link JobStore} and the {@link JobSignals} (PostgreSQL {@code LISTEN/NOTIFY} across
 * instances, listening on a connection made by the driver factory behind the host's pool; in-process for H2).
 */
@AutoConfiguration(afterName = "org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration")
@ConditionalOnClass({ConnectionFactory.class, R2dbcJobStore.class})
@ConditionalOnBean(ConnectionFactory.class)
@EnableConfigurationProperties({BeaconRunnerProperties.class, R2dbcProperties.class})
public final class RunnerPersistenceAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RunnerPersistenceAutoConfiguration.class);
    private static final Duration NAME_LOCK_TIMEOUT = Duration.ofSeconds(30);

    /** The host's database settings, {@code spring.r2dbc.*}. */
    @Bean
    @ConditionalOnMissingBean
    RunnerDatabase beaconRunnerDatabase(R2dbcProperties r2dbc) {
        return new RunnerDatabase(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword());
    }

    /**
     * Applies pending migrations, blocking once during start-up (Flyway is JDBC), before anything
     * serves requests. A host that migrates by other means sets {@code beacon.runner.persistence.migrate=false}
     * (and then needs neither the JDBC driver nor Flyway's database module).
     */
    @Bean
    @ConditionalOnMissingBean
    RunnerSchema beaconRunnerSchema(RunnerDatabase database, BeaconRunnerProperties properties, ResourceLoader resources) {
        String schema = properties.persistence().schema();
        if (!properties.persistence().migrate()) {
            return new RunnerSchema(schema, 0);
        }
        if (database.url() == null || database.url().isBlank()) {
            throw new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException("spring.r2dbc.url", null,
                    "the runner migrates its schema from spring.r2dbc.url; set it, or set beacon.runner.persistence.migrate=false");
        }
        SchemaMigrator migrator = new SchemaMigrator(database.url(), database.username(), database.password(), schema);
        // Flyway's JDBC driver and database module are optional dependencies: name what is missing, not Flyway's symptom of it.
        List<String> missing = migrator.missingLibraries(resources.getClassLoader());
        if (!missing.isEmpty()) {
            throw new IllegalStateException("the runner migrates its " + migrator.dialect().vendor() + " schema with Flyway over JDBC, which needs "
                    + String.join(" and ", missing) + " on the class path: add them to the application, or set "
                    + "beacon.runner.persistence.migrate=false and migrate by other means");
        }
        int applied = migrator.migrate();
        log.info("runner schema{} up to date ({} migration(s) applied)", schema == null ? "" : " '" + schema + "'", applied);
        return new RunnerSchema(schema, applied);
    }

    /**
     * On PostgreSQL, LISTEN/NOTIFY. The listening connection is made by the PostgreSQL factory behind the
     * host's pool, so it has every option of the host's connections (SSL, {@code options}, credentials,
     * {@code spring.r2dbc.properties.*}, customizers); only a factory that hides what it wraps makes the
     * runner fall back to {@code spring.r2dbc.url} with all its query options.
     */
    @Bean
    @ConditionalOnMissingBean
    JobSignals beaconJobSignals(ConnectionFactory connectionFactory, RunnerDatabase database, RunnerSchema schema) {
        return R2dbcJobSignals.forDatabase(connectionFactory, () -> dedicatedConnections(connectionFactory, database)
                .orElseThrow(() -> new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException(
                        "spring.r2dbc.url", null, "the runner listens for signals on a connection of its own; with a ConnectionFactory "
                        + "that does not expose its PostgreSQL factory (io.r2dbc.spi.Wrapped), set spring.r2dbc.url, or define a JobSignals bean")));
    }

    /**
     * Non-pooled connections to the runner's PostgreSQL database, made like the pool's (see
     * {@link R2dbcJobSignals#unpooled}), or from {@code spring.r2dbc.url} when the pool hides its driver
     * factory; empty when neither is to be had. For the connections the runner keeps for itself:
     * LISTEN, the instance-name lock, lease renewals.
     */
    private static java.util.Optional<ConnectionFactory> dedicatedConnections(ConnectionFactory connectionFactory, RunnerDatabase database) {
        return R2dbcJobSignals.unpooled(connectionFactory).or(() -> database.url() == null || database.url().isBlank()
                ? java.util.Optional.empty()
                : java.util.Optional.of(R2dbcJobSignals.dedicated(database.url(), database.username(), database.password())));
    }

    /**
     * The runner's store; it is also the {@link dev.beacon.runner.core.store.EvidenceStore} (keys and
     * seals) and signs with the runner's key what arrives unsigned and the seals of finished jobs. A host
     * that defines its own {@link JobStore} replaces it, and then has no evidence routes unless it
     * defines an {@code EvidenceStore} too.
     */
    @Bean
    @ConditionalOnMissingBean(JobStore.class)
    R2dbcJobStore beaconJobStore(ConnectionFactory connectionFactory, JobSignals signals, RunnerSchema schema, ObjectProvider<Clock> clock,
                                 BeaconRunnerProperties properties, LeaseConnections leaseConnections,
                                 ObjectProvider<ReceiptSigner> signer) {
        R2dbcJobStore.Builder builder = R2dbcJobStore.builder(connectionFactory).signals(signals)
                .timeout(properties.persistence().timeout());
        if (leaseConnections.pool() != null) {
            builder.leaseConnections(leaseConnections.pool());
        }
        if (schema.name() != null) {
            builder.schema(schema.name());
        }
        clock.ifUnique(builder::clock);
        signer.ifAvailable(builder::signer);
        return builder.build();
    }

    /**
     * This instance's name (see {@link RunnerInstance}), held for the life of the context. On
     * PostgreSQL it is taken with an {@link InstanceNameLock} on a dedicated connection, blocking once
     * at start-up: the first free stable name, a configured name only if no live instance holds it.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(RunnerInstance.class)
    HeldInstanceName beaconHeldInstanceName(ConnectionFactory connectionFactory, RunnerDatabase database, BeaconRunnerProperties properties,
                                            RunnerSchema schema) {
        String configured = properties.dispatcher().instanceId();
        List<String> candidates = RunnerInstance.candidates(configured);
        var dedicated = SqlDialect.of(connectionFactory) == SqlDialect.POSTGRESQL
                ? dedicatedConnections(connectionFactory, database) : java.util.Optional.<ConnectionFactory>empty();
        if (dedicated.isEmpty()) {
            // The embedded database is open to this process only: the name cannot be shared.
            return new HeldInstanceName(new RunnerInstance(candidates.get(0)), null);
        }
        InstanceNameLock lock = InstanceNameLock.acquireFirstFree(dedicated.get(), schema.name(), candidates).block(NAME_LOCK_TIMEOUT);
        if (lock != null) {
            log.info("runner instance name '{}' held on the database", lock.name());
            return new HeldInstanceName(new RunnerInstance(lock.name()), lock);
        }
        if (configured != null && !configured.isBlank()) {
            throw new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException(
                    "beacon.runner.dispatcher.instance-id", configured,
                    "a live runner instance on this database already has this name; give every instance its own");
        }
        RunnerInstance fallback = RunnerInstance.unique();
        log.warn("every stable instance name of this host ({} to {}) is held by a live instance; using '{}', so jobs of this "
                + "process are resumed only after their leases end if it crashes", candidates.get(0), candidates.get(candidates.size() - 1),
                fallback.id());
        return new HeldInstanceName(fallback, null);
    }

    @Bean
    @ConditionalOnMissingBean
    RunnerInstance beaconRunnerInstance(HeldInstanceName held) {
        return held.instance();
    }

    /** A {@link RunnerInstance} and the lock that keeps its name ours ({@code null} where none is needed). */
    record HeldInstanceName(RunnerInstance instance, @Nullable InstanceNameLock lock) implements AutoCloseable {
        @Override
        public void close() {
            if (lock != null) {
                lock.close();
            }
        }
    }

    /**
     * On PostgreSQL, two connections of their own for lease renewals, so that renewals never wait
     * behind the jobs' writes for a pooled connection (a saturated pool would otherwise make owners
     * stop runs they still own). Opened lazily, closed with the context.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    LeaseConnections beaconLeaseConnections(ConnectionFactory connectionFactory, RunnerDatabase database) {
        var dedicated = SqlDialect.of(connectionFactory) == SqlDialect.POSTGRESQL
                ? dedicatedConnections(connectionFactory, database) : java.util.Optional.<ConnectionFactory>empty();
        return new LeaseConnections(dedicated.map(factory -> new ConnectionPool(ConnectionPoolConfiguration.builder(factory)
                .initialSize(0).maxSize(2).maxIdleTime(Duration.ofMinutes(5)).build())).orElse(null));
    }

    /** The lease renewals' own pool, or {@code null} where the main one serves. */
    record LeaseConnections(@Nullable ConnectionPool pool) implements AutoCloseable {
        @Override
        public void close() {
            if (pool != null) {
                pool.dispose();
            }
        }
    }

    /** The runner's tables are migrated (or migration is left to the host); {@code name} is their schema or {@code null}. */
    public record RunnerSchema(@Nullable String name, int appliedMigrations) {
    }
}
