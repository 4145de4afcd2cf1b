package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.web.testing.RunnerContexts;
import io.r2dbc.spi.ConnectionFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * {@link RunnerEmbeddedDatabaseAutoConfiguration}'s class conditions. H2 is an optional dependency: a host
 * without a database of its own gets the embedded one only when it has added H2, and without H2 the
 * runner backs off rather than fail on a missing class.
 */
class RunnerEmbeddedDatabaseAutoConfigurationClassConditionsTest {

    /** How a host leaves H2 out: neither its R2DBC driver nor its engine. */
    private static final FilteredClassLoader WITHOUT_H2 = new FilteredClassLoader("io.r2dbc.h2.", "org.h2.");

    private final ApplicationContextRunner runner = RunnerContexts.runnerDatabase();

    @Test
    void withH2TheHostWithoutADatabaseGetsTheEmbeddedOneAndTheRunnersStore(@TempDir Path dir) {
        runner.withPropertyValues("beacon.runner.persistence.embedded-path=" + dir.resolve("jobs")).run(context -> {
            assertThat(context).hasNotFailed()
                    .hasSingleBean(RunnerEmbeddedDatabaseAutoConfiguration.class)
                    .hasBean("beaconEmbeddedConnectionFactory")
                    .hasSingleBean(JobStore.class);
            assertThat(context.getBean(RunnerDatabase.class).url()).startsWith("r2dbc:h2:file:///");
        });
    }

    /** Each class of the condition: H2's R2DBC driver, r2dbc-pool, and the R2DBC SPI itself. */
    @ParameterizedTest
    @ValueSource(strings = {"io.r2dbc.h2.", "io.r2dbc.pool.", "io.r2dbc.spi."})
    void withoutAClassOfTheConditionTheEmbeddedDatabaseBacksOff(String missing, @TempDir Path dir) {
        runner.withClassLoader(new FilteredClassLoader(missing))
                .withPropertyValues("beacon.runner.persistence.embedded-path=" + dir.resolve("jobs"))
                .run(context -> assertThat(context).hasNotFailed()
                        .doesNotHaveBean(RunnerEmbeddedDatabaseAutoConfiguration.class)
                        .doesNotHaveBean("beaconEmbeddedConnectionFactory")
                        .doesNotHaveBean(ConnectionFactory.class)
                        .doesNotHaveBean(RunnerDatabase.class)
                        .doesNotHaveBean(JobStore.class));
    }

    /**
     * What a real host without H2 and without a database sees: Boot's R2DBC auto-configuration (on the
     * class path with runner-web) asks for a URL, as in any R2DBC application, instead of the runner
     * failing on a class it does not have.
     */
    @Test
    void withoutH2AHostWithoutADatabaseFailsStartUpAskingForAUrl() {
        RunnerContexts.database().withClassLoader(WITHOUT_H2).run(context -> {
            assertThat(context).hasFailed();
            assertThat(rootCause(context.getStartupFailure()))
                    .isNotInstanceOf(ClassNotFoundException.class).isNotInstanceOf(NoClassDefFoundError.class)
                    .hasMessageContaining("R2DBC Connection URL");
        });
    }

    private static Throwable rootCause(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }
}
