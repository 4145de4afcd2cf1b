package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.persistence.testing.TestDatabases;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import java.net.URI;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The dedicated LISTEN connection is made like the host's own connections: every option of the
 * host's factory or URL reaches it. Checked on a real PostgreSQL through {@code pg_stat_activity},
 * where the listening backend shows the {@code application_name} it connected with.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ListenConnectionOptionsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    TestDatabases.Database database;
    URI server;

    @BeforeAll
    void start() {
        database = TestDatabases.postgres();
        server = URI.create(database.r2dbcUrl().substring("r2dbc:".length()));
    }

    @AfterAll
    void stop() {
        database.close();
    }

    @Test
    void theListeningConnectionHasTheOptionsOfTheHostsOwnFactory() throws SQLException {
        String marker = "beacon-listen-" + UUID.randomUUID().toString().substring(0, 8);
        // A host's own pool over a factory built in code, with no URL anywhere.
        ConnectionFactory hostPool = new ConnectionPool(ConnectionPoolConfiguration.builder(new PostgresqlConnectionFactory(
                PostgresqlConnectionConfiguration.builder().host(server.getHost()).port(server.getPort())
                        .database(server.getPath().substring(1)).username(database.user())
                        .password(database.password() == null ? "" : database.password())
                        .applicationName(marker)
                        .options(java.util.Map.of("search_path", "beacon_nowhere,public"))
                        .build())).maxSize(2).build());
        JobSignals signals = R2dbcJobSignals.forDatabase(hostPool, () -> {
            throw new AssertionError("the listening connection must come from the host's factory");
        });
        try {
            ((R2dbcJobSignals) signals).listening().block(WAIT);
            await().atMost(WAIT).untilAsserted(() -> assertThat(listeningBackends(marker)).isEqualTo(1));
        } finally {
            ((R2dbcJobSignals) signals).close();
            ((ConnectionPool) hostPool).dispose();
        }
    }

    @Test
    void aDedicatedFactoryFromAPoolUrlKeepsEveryQueryOptionAndDropsThePools() throws SQLException {
        String marker = "beacon-url-" + UUID.randomUUID().toString().substring(0, 8);
        String url = "r2dbc:pool:postgresql://" + server.getHost() + ":" + server.getPort() + server.getPath()
                + "?maxSize=3&initialSize=1&sslMode=disable&applicationName=" + marker;
        R2dbcJobSignals signals = R2dbcJobSignals.start(database.connectionFactory(),
                R2dbcJobSignals.dedicated(url, database.user(), database.password()));
        try {
            signals.listening().block(WAIT);
            await().atMost(WAIT).untilAsserted(() -> assertThat(listeningBackends(marker)).isEqualTo(1));
        } finally {
            signals.close();
        }
    }

    @Test
    void unpooledFindsTheDriversFactoryBehindAPoolAndNothingBehindAnUnknownFactory() {
        assertThat(R2dbcJobSignals.unpooled(database.connectionFactory())).get().isInstanceOf(PostgresqlConnectionFactory.class);
        ConnectionFactory opaque = new ConnectionFactory() {
            @Override
            public org.reactivestreams.Publisher<? extends io.r2dbc.spi.Connection> create() {
                return database.connectionFactory().create();
            }

            @Override
            public io.r2dbc.spi.ConnectionFactoryMetadata getMetadata() {
                return database.connectionFactory().getMetadata();
            }
        };
        assertThat(R2dbcJobSignals.unpooled(opaque)).isEmpty();
    }

    /** Backends of this database that last ran the LISTEN and connected as {@code applicationName}. */
    private long listeningBackends(String applicationName) throws SQLException {
        String jdbc = "jdbc:postgresql://" + server.getHost() + ":" + server.getPort() + server.getPath();
        try (var c = DriverManager.getConnection(jdbc, database.user(), database.password());
             var s = c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     + " AND application_name = ? AND query = 'LISTEN " + R2dbcJobSignals.CHANNEL + "'")) {
            s.setString(1, applicationName);
            try (var r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }
}
