package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobStore;
import dev.beacon.runner.persistence.R2dbcJobSignals;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.web.autoconfigure.RunnerDatabase;
import dev.beacon.runner.web.testing.RunnerContexts;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Where the runner's jobs live: the host's database when it has one ({@code spring.r2dbc.url} or its
 * own {@code ConnectionFactory}), otherwise the runner's embedded H2 file database, migrated; and the
 * LISTEN connection on PostgreSQL carries the options of the host's connections.
 */
class RunnerDatabaseAutoConfigurationTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private final ApplicationContextRunner contexts = RunnerContexts.database();

    @Test
    void aHostWithoutDatabaseSettingsGetsTheEmbeddedFileDatabaseMigrated(@TempDir Path dir) {
        Path file = dir.resolve("jobs");
        contexts.withPropertyValues("beacon.runner.persistence.embedded-path=" + file).run(context -> {
            assertThat(context).hasNotFailed().hasBean("beaconEmbeddedConnectionFactory").hasSingleBean(ConnectionFactory.class);
            assertThat(context.getBean(RunnerDatabase.class).url()).startsWith("r2dbc:h2:file:///" + file + ";");
            JobStore store = context.getBean(JobStore.class);
            var id = store.submit(Jobs.newJob(Jobs.spec("embedded", 1, 1), null, Instant.now())).block(WAIT).job().id();
            assertThat(store.find(id).blockOptional(WAIT)).isPresent();
        });
        assertThat(Files.exists(dir.resolve("jobs.mv.db"))).isTrue();
    }

    @Test
    void theEmbeddedDefaultIsTheStandaloneApplicationsDatabase() {
        Object standalone = BeaconRunnerApplication.defaults().get("spring.r2dbc.url");
        assertThat(RunnerDatabase.embedded(new org.springframework.boot.context.properties.bind.Binder()
                .bindOrCreate("beacon.runner", dev.beacon.runner.web.config.BeaconRunnerProperties.class).persistence().embeddedPath()).url())
                .isEqualTo(standalone)
                .isEqualTo("r2dbc:h2:file:///./data/beacon;MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        assertThat(RunnerDatabase.embedded("data/beacon").url()).startsWith("r2dbc:h2:file:///./data/beacon;");
        assertThat(RunnerDatabase.embedded("/var/lib/portal/beacon").url()).startsWith("r2dbc:h2:file:////var/lib/portal/beacon;");
    }

    @ParameterizedTest
    @ValueSource(strings = {"./x;INIT=RUNSCRIPT FROM 'evil.sql'", "./x?options=A", " "})
    void anEmbeddedPathThatIsNotAFileFailsStartUpNamingTheProperty(String path) {
        contexts.withPropertyValues("beacon.runner.persistence.embedded-path=" + path).run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = context.getStartupFailure();
            while (cause.getCause() != null && !(cause instanceof InvalidConfigurationPropertyValueException)) {
                cause = cause.getCause();
            }
            assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class)
                    .hasMessageContaining("beacon.runner.persistence.embedded-path");
        });
    }

    @Test
    void aHostUrlWinsOverTheEmbeddedDefault() {
        String url = "r2dbc:h2:mem:///host-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";
        contexts.withPropertyValues("spring.r2dbc.url=" + url, "spring.r2dbc.username=sa", "spring.r2dbc.password=").run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean("beaconEmbeddedConnectionFactory").hasSingleBean(ConnectionFactory.class);
            assertThat(context.getBean(RunnerDatabase.class).url()).isEqualTo(url);
            assertThat(context).hasSingleBean(JobStore.class);
        });
    }

    @Test
    void aHostConnectionFactoryWinsOverTheEmbeddedDefault() {
        ConnectionFactory own = ConnectionFactories.get("r2dbc:h2:mem:///own-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        contexts.withBean("hostConnectionFactory", ConnectionFactory.class, () -> own)
                .withPropertyValues("beacon.runner.persistence.migrate=false")
                .run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean("beaconEmbeddedConnectionFactory");
                    assertThat(context.getBean(ConnectionFactory.class)).isSameAs(own);
                });
    }

    /**
     * The options of the host's connections reach the LISTEN connection, whether they are query options
     * of {@code spring.r2dbc.url} or Boot's {@code spring.r2dbc.properties.*}, pooled or not.
     */
    @ParameterizedTest
    @ValueSource(strings = {"url", "properties", "pool-url"})
    void theListenConnectionHasTheOptionsOfTheHostsConnections(String where) throws Exception {
        TestDatabases.Database db = TestDatabases.postgres();
        db.close();
        URI server = URI.create(db.r2dbcUrl().substring("r2dbc:".length()));
        String marker = "beacon-" + where + "-" + UUID.randomUUID().toString().substring(0, 8);
        String base = "r2dbc:postgresql://" + server.getHost() + ":" + server.getPort() + server.getPath();
        String[] properties = switch (where) {
            case "url" -> new String[] {"spring.r2dbc.url=" + base + "?applicationName=" + marker + "&sslMode=disable"};
            case "properties" -> new String[] {"spring.r2dbc.url=" + base, "spring.r2dbc.properties.applicationName=" + marker};
            default -> new String[] {"spring.r2dbc.url=" + base.replace("r2dbc:", "r2dbc:pool:") + "?maxSize=4&applicationName=" + marker};
        };
        contexts.withPropertyValues(properties)
                .withPropertyValues("spring.r2dbc.username=" + db.user(), "spring.r2dbc.password=" + (db.password() == null ? "" : db.password()))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    R2dbcJobSignals signals = (R2dbcJobSignals) context.getBean(JobSignals.class);
                    signals.listening().block(WAIT);
                    String jdbc = "jdbc:postgresql://" + server.getHost() + ":" + server.getPort() + server.getPath();
                    await().atMost(WAIT).untilAsserted(() -> {
                        try (var c = DriverManager.getConnection(jdbc, db.user(), db.password());
                             var s = c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                     + " AND application_name = ? AND query = 'LISTEN " + R2dbcJobSignals.CHANNEL + "'")) {
                            s.setString(1, marker);
                            try (var r = s.executeQuery()) {
                                r.next();
                                assertThat(r.getLong(1)).isEqualTo(1);
                            }
                        }
                    });
                });
    }
}
