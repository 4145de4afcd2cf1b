package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.R2dbcJobSignals;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.persistence.SchemaMigrator;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Clock;
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

    /**
     * Applies pending migrations, blocking once during start-up (Flyway is JDBC), before anything
     * serves requests. A host that migrates by other means sets {@code beacon.runner.persistence.migrate=false}.
     */
    /** The host's database settings, {@code spring.r2dbc.*}. */
    @Bean
    @ConditionalOnMissingBean
    RunnerDatabase beaconRunnerDatabase(R2dbcProperties r2dbc) {
        return new RunnerDatabase(r2dbc.getUrl(), r2dbc.getUsername(), r2dbc.getPassword());
    }

    @Bean
    @ConditionalOnMissingBean
    RunnerSchema beaconRunnerSchema(RunnerDatabase database, BeaconRunnerProperties properties) {
        String schema = properties.getPersistence().getSchema();
        if (!properties.getPersistence().isMigrate()) {
            return new RunnerSchema(schema, 0);
        }
        if (database.url() == null || database.url().isBlank()) {
            throw new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException("spring.r2dbc.url", null,
                    "the runner migrates its schema from spring.r2dbc.url; set it, or set beacon.runner.persistence.migrate=false");
        }
        int applied = new SchemaMigrator(database.url(), database.username(), database.password(), schema).migrate();
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
        return R2dbcJobSignals.forDatabase(connectionFactory, () -> {
            if (database.url() == null || database.url().isBlank()) {
                throw new org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException("spring.r2dbc.url", null,
                        "the runner listens for signals on a connection of its own; with a ConnectionFactory that does not expose "
                                + "its PostgreSQL factory (io.r2dbc.spi.Wrapped), set spring.r2dbc.url, or define a JobSignals bean");
            }
            return R2dbcJobSignals.dedicated(database.url(), database.username(), database.password());
        });
    }

    @Bean
    @ConditionalOnMissingBean
    JobStore beaconJobStore(ConnectionFactory connectionFactory, JobSignals signals, RunnerSchema schema, ObjectProvider<Clock> clock) {
        R2dbcJobStore.Builder builder = R2dbcJobStore.builder(connectionFactory).signals(signals);
        if (schema.name() != null) {
            builder.schema(schema.name());
        }
        clock.ifAvailable(builder::clock);
        return builder.build();
    }

    /** The runner's tables are migrated (or migration is left to the host); {@code name} is their schema or {@code null}. */
    public record RunnerSchema(String name, int appliedMigrations) {
    }
}
