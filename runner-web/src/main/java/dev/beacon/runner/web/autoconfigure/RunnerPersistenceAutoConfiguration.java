package dev.beacon.runner.web.autoconfigure;

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

/**
 * Durable jobs in the database of the host's R2DBC {@link ConnectionFactory} ({@code spring.r2dbc.url}):
 * applies the runner's schema migrations at start-up from that same URL (no second database setting),
 * then creates the {@link JobStore} and the {@link JobSignals} (PostgreSQL {@code LISTEN/NOTIFY} across
 * instances; in-process for the embedded H2).
 */
@AutoConfiguration(afterName = "org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration")
@ConditionalOnClass({ConnectionFactory.class, R2dbcJobStore.class})
@ConditionalOnBean(ConnectionFactory.class)
@EnableConfigurationProperties({BeaconRunnerProperties.class, R2dbcProperties.class})
public final class RunnerPersistenceAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RunnerPersistenceAutoConfiguration.class);
    private static final Duration NAME_LOCK_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Applies pending migrations, blocking once during start-up (Flyway is JDBC), before anything
     * serves requests. A host that migrates by other means sets {@code beacon.runner.persistence.migrate=false}.
     */
    @Bean
    @ConditionalOnMissingBean
    RunnerSchema beaconRunnerSchema(R2dbcProperties r2dbc, BeaconRunnerProperties properties) {
        String schema = properties.getPersistence().getSchema();
        if (!properties.getPersistence().isMigrate()) {
            return new RunnerSchema(schema, 0);
        }
        if (r2dbc.getUrl() == null || r2dbc.getUrl().isBlank()) {
            throw new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException("spring.r2dbc.url", null,
                    "the runner migrates its schema from spring.r2dbc.url; set it, or set beacon.runner.persistence.migrate=false");
        }
        int applied = new SchemaMigrator(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword(), schema).migrate();
        log.info("runner schema{} up to date ({} migration(s) applied)", schema == null ? "" : " '" + schema + "'", applied);
        return new RunnerSchema(schema, applied);
    }

    @Bean
    @ConditionalOnMissingBean
    JobSignals beaconJobSignals(ConnectionFactory connectionFactory, R2dbcProperties r2dbc, RunnerSchema schema) {
        return R2dbcJobSignals.forDatabase(connectionFactory,
                () -> R2dbcJobSignals.dedicated(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword()));
    }

    @Bean
    @ConditionalOnMissingBean
    JobStore beaconJobStore(ConnectionFactory connectionFactory, JobSignals signals, RunnerSchema schema, ObjectProvider<Clock> clock,
                            BeaconRunnerProperties properties, LeaseConnections leaseConnections) {
        R2dbcJobStore.Builder builder = R2dbcJobStore.builder(connectionFactory).signals(signals)
                .timeout(properties.getPersistence().getTimeout());
        if (leaseConnections.pool() != null) {
            builder.leaseConnections(leaseConnections.pool());
        }
        if (schema.name() != null) {
            builder.schema(schema.name());
        }
        clock.ifAvailable(builder::clock);
        return builder.build();
    }

    /**
     * This instance's name (see {@link RunnerInstance}), held for the life of the context. On
     * PostgreSQL it is taken with an {@link InstanceNameLock} on a dedicated connection, blocking once
     * at start-up: the first free stable name, a configured name only if no live instance holds it.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(RunnerInstance.class)
    HeldInstanceName beaconHeldInstanceName(ConnectionFactory connectionFactory, R2dbcProperties r2dbc, BeaconRunnerProperties properties,
                                            RunnerSchema schema) {
        String configured = properties.getDispatcher().getInstanceId();
        List<String> candidates = RunnerInstance.candidates(configured);
        if (SqlDialect.of(connectionFactory) != SqlDialect.POSTGRESQL || r2dbc.getUrl() == null) {
            // The embedded database is open to this process only: the name cannot be shared.
            return new HeldInstanceName(new RunnerInstance(candidates.get(0)), null);
        }
        ConnectionFactory dedicated = R2dbcJobSignals.dedicated(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword());
        InstanceNameLock lock = InstanceNameLock.acquireFirstFree(dedicated, schema.name(), candidates).block(NAME_LOCK_TIMEOUT);
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
    record HeldInstanceName(RunnerInstance instance, InstanceNameLock lock) implements AutoCloseable {
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
    LeaseConnections beaconLeaseConnections(ConnectionFactory connectionFactory, R2dbcProperties r2dbc) {
        if (SqlDialect.of(connectionFactory) != SqlDialect.POSTGRESQL || r2dbc.getUrl() == null) {
            return new LeaseConnections(null);
        }
        ConnectionFactory dedicated = R2dbcJobSignals.dedicated(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword());
        return new LeaseConnections(new ConnectionPool(ConnectionPoolConfiguration.builder(dedicated)
                .initialSize(0).maxSize(2).maxIdleTime(Duration.ofMinutes(5)).build()));
    }

    /** The lease renewals' own pool, or {@code null} where the main one serves. */
    record LeaseConnections(ConnectionPool pool) implements AutoCloseable {
        @Override
        public void close() {
            if (pool != null) {
                pool.dispose();
            }
        }
    }

    /** The runner's tables are migrated (or migration is left to the host); {@code name} is their schema or {@code null}. */
    public record RunnerSchema(String name, int appliedMigrations) {
    }
}
