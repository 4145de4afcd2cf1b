package dev.beacon.runner.web.testing;

import dev.beacon.runner.web.autoconfigure.RunnerAnalysisAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerEmbeddedDatabaseAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerEngineAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerHealthAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerPersistenceAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerServiceAutoConfiguration;
import dev.beacon.runner.web.autoconfigure.RunnerWebAutoConfiguration;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import java.util.UUID;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;

/** The application contexts the auto-configuration tests start: the runner's parts as a host has them. */
public final class RunnerContexts {

    private RunnerContexts() {
    }

    /** The runner's own database auto-configurations, without Boot's R2DBC one. */
    public static ApplicationContextRunner runnerDatabase() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(RunnerEmbeddedDatabaseAutoConfiguration.class, RunnerPersistenceAutoConfiguration.class));
    }

    /** Where a host's jobs live: the runner's embedded default, Boot's R2DBC auto-configuration and the runner's persistence. */
    public static ApplicationContextRunner database() {
        return runnerDatabase().withConfiguration(AutoConfigurations.of(R2dbcAutoConfiguration.class));
    }

    /** The comparison's analysis alone. */
    public static ApplicationContextRunner analysis() {
        return new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(RunnerAnalysisAutoConfiguration.class));
    }

    /**
     * The whole stack in a reactive web context over an in-memory H2 database of the host's (its own
     * {@code ConnectionFactory} and {@code spring.r2dbc.*}), with one endpoint, as a host would have it.
     */
    public static ReactiveWebApplicationContextRunner hostWithDatabase() {
        String url = "r2dbc:h2:mem:///ctx-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";
        return new ReactiveWebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(RunnerPersistenceAutoConfiguration.class, RunnerEngineAutoConfiguration.class,
                        RunnerServiceAutoConfiguration.class, RunnerWebAutoConfiguration.class, RunnerHealthAutoConfiguration.class))
                .withBean(ConnectionFactory.class, () -> ConnectionFactories.get(ConnectionFactoryOptions.parse(url).mutate()
                        .option(ConnectionFactoryOptions.USER, "sa")
                        .option(ConnectionFactoryOptions.PASSWORD, "").build()))
                .withPropertyValues("spring.r2dbc.url=" + url, "spring.r2dbc.username=sa", "spring.r2dbc.password=",
                        "beacon.runner.endpoints[0].model=m1", "beacon.runner.endpoints[0].region=eu",
                        "beacon.runner.endpoints[0].providers[0].id=p1");
    }
}
