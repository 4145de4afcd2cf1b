package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner's Flyway history is {@value SchemaMigrator#HISTORY_TABLE}, never a host's
 * {@code flyway_schema_history}; a database migrated by an earlier runner under Flyway's default
 * table keeps working: its history is carried over (or, when the old table is shared, baselined),
 * its rows are kept, nothing is applied twice, and a host's Flyway can afterwards create its own table
 * in the same schema.
 */
class SchemaHistoryUpgradeTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aFreshDatabaseGetsTheRunnersOwnHistoryTable() throws SQLException {
        String url = h2Url("fresh");
        assertThat(new SchemaMigrator(url, "sa", "").migrate()).isPositive();

        try (Connection c = jdbc(url)) {
            assertThat(tables(c, "public")).contains(SchemaMigrator.HISTORY_TABLE, "jobs").doesNotContain("flyway_schema_history");
        }
    }

    @Test
    void anH2DatabaseMigratedUnderTheOldTableNameIsCarriedOverWithItsRows(@TempDir Path dir) throws SQLException {
        // A file database, as the embedded default is: the upgrade happens to data that outlives the process.
        String url = "r2dbc:h2:file:///" + dir.resolve("beacon").toAbsolutePath() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";
        legacyMigrate(url, "sa", "", null);
        JobId job = storeAJob(url, "sa", "");

        assertThat(new SchemaMigrator(url, "sa", "").migrate()).as("nothing applied twice").isZero();

        try (Connection c = jdbc(url)) {
            assertThat(tables(c, "public")).contains(SchemaMigrator.HISTORY_TABLE).doesNotContain("flyway_schema_history");
            assertThat(versions(c, "public")).contains("1");
        }
        assertThat(findJob(url, "sa", "", job)).isTrue();
        assertThat(new SchemaMigrator(url, "sa", "").migrate()).isZero();
        assertAHostFlywayCanStartItsOwnHistory(url, "public");
    }

    @Test
    void aPostgresDatabaseMigratedUnderTheOldTableNameIsCarriedOverWithItsRows() throws SQLException {
        TestDatabases.Database server = TestDatabases.postgres();
        server.close();
        String url = newPostgresDatabase(server);
        legacyMigrate(url, server.user(), server.password(), null);
        JobId job = storeAJob(url, server.user(), server.password());

        assertThat(new SchemaMigrator(url, server.user(), server.password()).migrate()).isZero();

        try (Connection c = jdbc(url, server.user(), server.password())) {
            assertThat(tables(c, "public")).contains(SchemaMigrator.HISTORY_TABLE).doesNotContain("flyway_schema_history");
            assertThat(versions(c, "public")).contains("1");
        }
        assertThat(findJob(url, server.user(), server.password(), job)).isTrue();
        assertAHostFlywayCanStartItsOwnHistory(url, "public", server.user(), server.password());
    }

    @Test
    void twoInstancesUpgradingOnePostgresDatabaseTogetherCarryTheHistoryOverOnce() throws Exception {
        TestDatabases.Database server = TestDatabases.postgres();
        server.close();
        String url = newPostgresDatabase(server);
        legacyMigrate(url, server.user(), server.password(), null);

        var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> new SchemaMigrator(url, server.user(), server.password()).migrate());
        var second = java.util.concurrent.CompletableFuture.supplyAsync(() -> new SchemaMigrator(url, server.user(), server.password()).migrate());

        assertThat(first.get(60, java.util.concurrent.TimeUnit.SECONDS) + second.get(60, java.util.concurrent.TimeUnit.SECONDS)).isZero();
        try (Connection c = jdbc(url, server.user(), server.password())) {
            assertThat(tables(c, "public")).contains(SchemaMigrator.HISTORY_TABLE).doesNotContain("flyway_schema_history");
            assertThat(count(c, "SELECT count(*) FROM " + SchemaMigrator.HISTORY_TABLE + " WHERE version = '1'")).isEqualTo(1);
        }
    }

    @Test
    void aPostgresRunnerSchemaMigratedUnderTheOldTableNameIsCarriedOver() throws SQLException {
        TestDatabases.Database server = TestDatabases.postgres();
        server.close();
        String url = newPostgresDatabase(server);
        legacyMigrate(url, server.user(), server.password(), "beacon");

        assertThat(new SchemaMigrator(url, server.user(), server.password(), "beacon").migrate()).isZero();

        try (Connection c = jdbc(url, server.user(), server.password())) {
            assertThat(tables(c, "beacon")).contains(SchemaMigrator.HISTORY_TABLE, "jobs").doesNotContain("flyway_schema_history");
        }
    }

    @Test
    void aHistorySharedWithTheHostIsLeftAloneAndTheRunnerBaselinesPastItsOwnVersions() throws SQLException {
        String url = h2Url("shared");
        legacyMigrate(url, "sa", "", null);
        long hostRows;
        long runnerLatest;
        try (Connection c = jdbc(url); Statement s = c.createStatement()) {
            // A host migration recorded in the same default table, as if both had shared it.
            s.execute("INSERT INTO \"flyway_schema_history\" (\"installed_rank\", \"version\", \"description\", \"type\", \"script\", "
                    + "\"checksum\", \"installed_by\", \"execution_time\", \"success\") "
                    + "VALUES (99, '900', 'host orders', 'SQL', 'V900__host_orders.sql', 1, 'host', 1, TRUE)");
            hostRows = count(c, "SELECT count(*) FROM \"flyway_schema_history\"");
            runnerLatest = count(c, "SELECT MAX(CAST(\"version\" AS INT)) FROM \"flyway_schema_history\" WHERE \"installed_rank\" <> 99");
        }

        assertThat(new SchemaMigrator(url, "sa", "").migrate()).as("nothing applied twice").isZero();

        try (Connection c = jdbc(url)) {
            assertThat(tables(c, "public")).contains(SchemaMigrator.HISTORY_TABLE, "flyway_schema_history");
            assertThat(count(c, "SELECT count(*) FROM \"flyway_schema_history\"")).as("host history untouched").isEqualTo(hostRows);
            assertThat(count(c, "SELECT count(*) FROM \"" + SchemaMigrator.HISTORY_TABLE + "\" WHERE \"type\" = 'BASELINE' AND \"version\" = '" + runnerLatest + "'"))
                    .as("baseline at the runner's latest version, %s", runnerLatest).isEqualTo(1);
        }
        assertThat(new SchemaMigrator(url, "sa", "").migrate()).isZero();
    }

    @Test
    void aHostSchemaWithTablesOfItsOwnGetsTheRunnersTablesNextToThem() throws SQLException {
        String url = h2Url("host-tables");
        try (Connection c = jdbc(url); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE orders (id int PRIMARY KEY)");
        }
        // The host's own Flyway history, without any runner migration in it.
        assertAHostFlywayCanStartItsOwnHistory(url, "public");

        assertThat(new SchemaMigrator(url, "sa", "").migrate()).isPositive();

        try (Connection c = jdbc(url)) {
            assertThat(tables(c, "public")).contains("orders", "jobs", SchemaMigrator.HISTORY_TABLE, "flyway_schema_history");
            assertThat(count(c, "SELECT count(*) FROM \"flyway_schema_history\" WHERE \"script\" LIKE 'V1__jobs%'")).isZero();
        }
    }

    /** What the runner did before it had a table of its own: Flyway's defaults. */
    private static void legacyMigrate(String r2dbcUrl, String user, String password, String schema) {
        var config = Flyway.configure().dataSource(JdbcUrls.toJdbc(r2dbcUrl), user, password)
                .locations("classpath:db/migration/" + SqlDialect.ofUrl(r2dbcUrl).vendor());
        if (schema != null) {
            config = config.schemas(schema).defaultSchema(schema).createSchemas(true);
        }
        config.load().migrate();
    }

    /** A host's Flyway with its default table and a migration of its own, in {@code schema}. */
    private static void assertAHostFlywayCanStartItsOwnHistory(String r2dbcUrl, String schema) {
        assertAHostFlywayCanStartItsOwnHistory(r2dbcUrl, schema, "sa", "");
    }

    private static void assertAHostFlywayCanStartItsOwnHistory(String r2dbcUrl, String schema, String user, String password) {
        Path migrations;
        try {
            migrations = Files.createTempDirectory("host-migrations");
            Files.writeString(migrations.resolve("V1__host_table.sql"), "CREATE TABLE host_things (id int PRIMARY KEY);");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        var result = Flyway.configure().dataSource(JdbcUrls.toJdbc(r2dbcUrl), user, password)
                .locations("filesystem:" + migrations).schemas(schema).defaultSchema(schema)
                .baselineOnMigrate(true).baselineVersion("0")
                .load().migrate();
        assertThat(result.migrationsExecuted).isEqualTo(1);
    }

    private static JobId storeAJob(String url, String user, String password) {
        ConnectionPool pool = pool(url, user, password);
        try {
            R2dbcJobStore store = R2dbcJobStore.builder(pool).build();
            return store.submit(Jobs.newJob(Jobs.spec("before-upgrade", 1, 1), null, Instant.now())).block(WAIT).job().id();
        } finally {
            pool.dispose();
        }
    }

    private static boolean findJob(String url, String user, String password, JobId id) {
        ConnectionPool pool = pool(url, user, password);
        try {
            return R2dbcJobStore.builder(pool).build().find(id).blockOptional(WAIT).isPresent();
        } finally {
            pool.dispose();
        }
    }

    private static ConnectionPool pool(String url, String user, String password) {
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(url).mutate()
                .option(ConnectionFactoryOptions.USER, user)
                .option(ConnectionFactoryOptions.PASSWORD, password == null ? "" : password).build();
        ConnectionFactory factory = ConnectionFactories.get(options);
        return new ConnectionPool(io.r2dbc.pool.ConnectionPoolConfiguration.builder(factory).maxSize(2).build());
    }

    private static String h2Url(String name) {
        return "r2dbc:h2:mem:///upgrade-" + name + "-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";
    }

    /** A new empty database on the test server (TestDatabases' databases come migrated already). */
    private static String newPostgresDatabase(TestDatabases.Database any) throws SQLException {
        String name = "upgrade_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = jdbc(any.r2dbcUrl(), any.user(), any.password()); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        String base = any.r2dbcUrl();
        return base.substring(0, base.lastIndexOf('/') + 1) + name;
    }

    private static Connection jdbc(String r2dbcUrl) throws SQLException {
        return jdbc(r2dbcUrl, "sa", "");
    }

    private static Connection jdbc(String r2dbcUrl, String user, String password) throws SQLException {
        return DriverManager.getConnection(JdbcUrls.toJdbc(r2dbcUrl), user, password);
    }

    private static List<String> tables(Connection c, String schema) throws SQLException {
        List<String> names = new ArrayList<>();
        try (ResultSet r = c.getMetaData().getTables(null, schema, "%", new String[] {"TABLE", "BASE TABLE"})) {
            while (r.next()) {
                names.add(r.getString("TABLE_NAME"));
            }
        }
        return names;
    }

    private static List<String> versions(Connection c, String schema) throws SQLException {
        List<String> versions = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT \"version\" FROM \"" + schema + "\".\"" + SchemaMigrator.HISTORY_TABLE + "\" WHERE \"success\"")) {
            while (r.next()) {
                versions.add(r.getString(1));
            }
        }
        return versions;
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }
}
