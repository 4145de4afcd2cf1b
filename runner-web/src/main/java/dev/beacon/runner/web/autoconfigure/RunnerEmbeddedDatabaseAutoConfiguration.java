package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.web.config.BeaconRunnerProperties;
import io.r2dbc.h2.H2ConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.StringUtils;

/**
 * The runner's own database for a host that has none: no {@code spring.r2dbc.url}, no
 * {@link ConnectionFactory} and no R2DBC connection details (Docker Compose, Testcontainers). The
 * runner then works on its embedded default, exactly as the standalone application does: an H2 file
 * database at {@code beacon.runner.persistence.embedded-path} (default {@code ./data/beacon}, i.e.
 * {@code ./data/beacon.mv.db} in the working directory), pooled, with its schema migrated at start-up by
 * {@link RunnerPersistenceAutoConfiguration}.
 *
 * <p>Without it, Spring Boot would give such a host an anonymous in-memory H2 database of its own,
 * with no URL to migrate from, and start-up would fail. Setting {@code spring.r2dbc.url} or defining a
 * {@code ConnectionFactory} bean makes this configuration back off; the {@code ConnectionFactory} it
 * creates is also the host's, should the host use R2DBC itself.
 */
@AutoConfiguration(before = RunnerPersistenceAutoConfiguration.class,
        beforeName = "org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration")
@ConditionalOnClass({ConnectionFactory.class, H2ConnectionFactory.class, ConnectionPool.class})
@ConditionalOnMissingBean(value = ConnectionFactory.class, type = "org.springframework.boot.r2dbc.autoconfigure.R2dbcConnectionDetails")
@Conditional(RunnerEmbeddedDatabaseAutoConfiguration.NoR2dbcUrl.class)
@EnableConfigurationProperties(BeaconRunnerProperties.class)
public final class RunnerEmbeddedDatabaseAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RunnerEmbeddedDatabaseAutoConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    RunnerDatabase beaconRunnerDatabase(BeaconRunnerProperties properties) {
        return RunnerDatabase.embedded(properties.persistence().embeddedPath());
    }

    /** A pool over the embedded H2 file database, closed with the context. */
    @Bean(destroyMethod = "dispose")
    ConnectionPool beaconEmbeddedConnectionFactory(RunnerDatabase database) {
        log.info("no database configured (spring.r2dbc.url): the runner uses its embedded H2 database {}", database.url());
        ConnectionFactory h2 = ConnectionFactories.get(ConnectionFactoryOptions.parse(database.url()).mutate()
                .option(ConnectionFactoryOptions.USER, database.username())
                .option(ConnectionFactoryOptions.PASSWORD, database.password())
                .build());
        return new ConnectionPool(ConnectionPoolConfiguration.builder(h2).name("beacon-embedded").initialSize(1).maxSize(10).build());
    }

    /** Matches when {@code spring.r2dbc.url} is not set (or blank). */
    static final class NoR2dbcUrl extends SpringBootCondition {

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            String url = context.getEnvironment().getProperty("spring.r2dbc.url");
            return StringUtils.hasText(url)
                    ? ConditionOutcome.noMatch("spring.r2dbc.url is set")
                    : ConditionOutcome.match("spring.r2dbc.url is not set");
        }
    }
}
