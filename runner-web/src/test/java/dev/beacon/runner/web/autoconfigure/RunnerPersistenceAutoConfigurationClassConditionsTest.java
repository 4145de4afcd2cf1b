package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.R2dbcJobStore;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.web.autoconfigure.RunnerPersistenceAutoConfiguration.RunnerSchema;
import dev.beacon.runner.web.testing.RunnerContexts;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * {@link RunnerPersistenceAutoConfiguration}'s class conditions, and what it needs of the optional
 * database libraries: a host on PostgreSQL needs no H2, and one that lacks Flyway's JDBC driver or
 * database module is told which artifact to add.
 */
class RunnerPersistenceAutoConfigurationClassConditionsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private static TestDatabases.Database postgres;

    @BeforeAll
    static void createDatabase() {
        postgres = TestDatabases.postgres();
    }

    @AfterAll
    static void closeDatabase() {
        postgres.close();
    }

    @Test
    void withItsClassesTheRunnerStoresJobsInTheHostsDatabase() {
        RunnerContexts.hostWithDatabase().run(context -> {
            assertThat(context).hasNotFailed()
                    .hasSingleBean(RunnerPersistenceAutoConfiguration.class)
                    .hasSingleBean(RunnerSchema.class)
                    .hasSingleBean(JobService.class);
            assertThat(context.getBean(JobStore.class)).isInstanceOf(R2dbcJobStore.class);
            assertThat(context.getBean(RunnerSchema.class).appliedMigrations()).isPositive();
        });
    }

    /** Without the R2DBC SPI or the runner's store, the runner has no database: the engine alone stays, and nothing fails. */
    @ParameterizedTest
    @ValueSource(classes = {ConnectionFactory.class, R2dbcJobStore.class})
    void withoutAClassOfTheConditionPersistenceBacksOff(Class<?> missing) {
        RunnerContexts.hostWithDatabase().withClassLoader(new FilteredClassLoader(missing)).run(context ->
                assertThat(context).hasNotFailed()
                        .doesNotHaveBean(RunnerPersistenceAutoConfiguration.class)
                        .doesNotHaveBean(RunnerSchema.class)
                        .doesNotHaveBean(JobStore.class)
                        .doesNotHaveBean(JobService.class)
                        .doesNotHaveBean("beaconRunnerRoutes"));
    }

    @Test
    void aHostOnPostgresqlNeedsNoH2() {
        onPostgres().withClassLoader(new FilteredClassLoader("io.r2dbc.h2.", "org.h2."))
                .withPropertyValues("beacon.runner.persistence.schema=without_h2")
                .run(context -> {
                    assertThat(context).hasNotFailed()
                            .doesNotHaveBean(RunnerEmbeddedDatabaseAutoConfiguration.class)
                            .hasSingleBean(ConnectionFactory.class);
                    assertThat(context.getBean(RunnerSchema.class).appliedMigrations()).isPositive();
                    JobStore store = context.getBean(JobStore.class);
                    var id = store.submit(Jobs.newJob(Jobs.spec("without-h2", 1, 1), null, Instant.now())).block(WAIT).job().id();
                    assertThat(store.find(id).blockOptional(WAIT)).isPresent();
                });
    }

    /** Flyway's own errors would not name the artifact; start-up fails before Flyway runs, naming it. */
    @ParameterizedTest
    @CsvSource({
            "org.postgresql.Driver, org.postgresql:postgresql",
            "org.flywaydb.database.postgresql., org.flywaydb:flyway-database-postgresql"})
    void migratingPostgresqlWithoutFlywaysDriverOrModuleFailsStartUpNamingTheArtifact(String missing, String artifact) {
        onPostgres().withClassLoader(new FilteredClassLoader(missing)).run(context -> {
            assertThat(context).hasFailed();
            assertThat(rootCause(context.getStartupFailure())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(artifact)
                    .hasMessageContaining("beacon.runner.persistence.migrate=false");
        });
    }

    @Test
    void aHostThatMigratesByOtherMeansNeedsNeitherFlywaysDriverNorItsModule() {
        onPostgres().withClassLoader(new FilteredClassLoader("org.postgresql.Driver", "org.flywaydb.database.postgresql."))
                .withPropertyValues("beacon.runner.persistence.migrate=false")
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(JobStore.class);
                    assertThat(context.getBean(RunnerSchema.class).appliedMigrations()).isZero();
                });
    }

    /** The shared database contexts, on this class's PostgreSQL database through {@code spring.r2dbc.*}. */
    private static ApplicationContextRunner onPostgres() {
        return RunnerContexts.database().withPropertyValues("spring.r2dbc.url=" + postgres.r2dbcUrl(),
                "spring.r2dbc.username=" + postgres.user(), "spring.r2dbc.password=" + (postgres.password() == null ? "" : postgres.password()));
    }

    private static Throwable rootCause(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }
}
