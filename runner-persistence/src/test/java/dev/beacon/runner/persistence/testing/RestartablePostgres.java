package dev.beacon.runner.persistence.testing;

import dev.beacon.runner.persistence.SchemaMigrator;
import dev.beacon.runner.persistence.SqlDialect;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A PostgreSQL server of its own (embedded, on a fixed port and data directory) that a test can stop
 * and start again mid-run, as an operator restarting the database would: every session ends, the
 * port refuses connections meanwhile, and committed data is still there afterwards.
 */
public final class RestartablePostgres implements AutoCloseable {

    private static final String DATABASE = "beacon";

    private final Path dataDirectory;
    private final int port;
    private EmbeddedPostgres server;

    public RestartablePostgres() {
        try {
            this.dataDirectory = Files.createTempDirectory("beacon-restartable-pg");
            try (ServerSocket socket = new ServerSocket(0)) {
                this.port = socket.getLocalPort();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        start();
        try (var admin = DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/postgres", "postgres", null);
             var statement = admin.createStatement()) {
            statement.execute("CREATE DATABASE " + DATABASE);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + DATABASE, e);
        }
        new SchemaMigrator(r2dbcUrl(), "postgres", null, null).migrate();
    }

    /** Starts the server (again) on the same port and data directory. */
    public synchronized void start() {
        try {
            server = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setPGStartupWait(Duration.ofSeconds(30))
                    .setServerConfig("max_connections", "100")
                    .setServerConfig("fsync", "off")
                    .setServerConfig("idle_in_transaction_session_timeout", "5s")
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start PostgreSQL on port " + port, e);
        }
    }

    /** Stops the server: every session ends and new connections are refused until {@link #start()}. */
    public synchronized void stop() {
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException("could not stop PostgreSQL on port " + port, e);
        }
    }

    public String r2dbcUrl() {
        return "r2dbc:postgresql://localhost:" + port + "/" + DATABASE;
    }

    /** The migrated database, with a pool of its own. */
    public TestDatabases.Database database() {
        var config = PostgresqlConnectionConfiguration.builder().host("localhost").port(port).database(DATABASE).username("postgres").build();
        var pool = new ConnectionPool(ConnectionPoolConfiguration.builder(new PostgresqlConnectionFactory(config))
                .initialSize(1).maxSize(8).maxAcquireTime(Duration.ofSeconds(30)).build());
        return new TestDatabases.Database(SqlDialect.POSTGRESQL, r2dbcUrl(), "postgres", null, pool, null);
    }

    @Override
    public void close() {
        stop();
    }
}
