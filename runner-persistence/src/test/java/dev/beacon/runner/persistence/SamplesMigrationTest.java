package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactoryOptions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * Migration V3 (samples) on a database that already holds v2 rows: every stored execution becomes
 * sample 0 of its cell, and the other samples of that cell can then be stored beside it.
 */
class SamplesMigrationTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void anH2DatabaseWithV2RowsKeepsThemAsSampleZero() throws SQLException {
        String url = "r2dbc:h2:mem:///samples-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";
        assertUpgradeKeepsRowsAsSampleZero(url, "sa", "");
    }

    @Test
    void aPostgresDatabaseWithV2RowsKeepsThemAsSampleZero() throws SQLException {
        TestDatabases.Database server = TestDatabases.postgres();
        server.close();
        String name = "samples_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(JdbcUrls.toJdbc(server.r2dbcUrl()), server.user(), server.password());
             Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        String base = server.r2dbcUrl();
        assertUpgradeKeepsRowsAsSampleZero(base.substring(0, base.lastIndexOf('/') + 1) + name, server.user(), server.password());
    }

    private static void assertUpgradeKeepsRowsAsSampleZero(String url, String user, String password) throws SQLException {
        Flyway.configure(SchemaMigrator.class.getClassLoader()).dataSource(JdbcUrls.toJdbc(url), user, password)
                .table(SchemaMigrator.HISTORY_TABLE)
                .locations("classpath:db/migration/" + SqlDialect.ofUrl(url).vendor())
                .target("2").load().migrate();
        JobSpec spec = Jobs.spec("before-samples", 1, 1, 2);
        Cell sampleZero = CellLayout.cells(spec).get(0);
        JobId job;
        ConnectionPool pool = pool(url, user, password);
        try {
            job = R2dbcJobStore.builder(pool).build().submit(Jobs.newJob(spec, null, Instant.now())).block(WAIT).job().id();
        } finally {
            pool.dispose();
        }
        try (Connection c = DriverManager.getConnection(JdbcUrls.toJdbc(url), user, password);
             PreparedStatement insert = c.prepareStatement("INSERT INTO executions (job_id, question_id, model_id, region, status, attempts, error_code, error_message, completed_at)"
                     + " VALUES (?, ?, ?, ?, 'FAILED', 1, 'HTTP_503', 'unavailable', ?)")) {
            // A row as the v2 schema stored it: no sample column yet.
            insert.setObject(1, job.value());
            insert.setString(2, sampleZero.questionId());
            insert.setString(3, sampleZero.endpoint().model());
            insert.setString(4, sampleZero.endpoint().region());
            insert.setTimestamp(5, Timestamp.from(Instant.now()));
            insert.executeUpdate();
        }

        assertThat(new SchemaMigrator(url, user, password).migrate()).as("V3 and what follows applied").isPositive();

        pool = pool(url, user, password);
        try {
            R2dbcJobStore store = R2dbcJobStore.builder(pool).build();
            Cell sampleOne = CellLayout.cells(spec).get(1);
            assertThat(sampleOne.sample()).isEqualTo(1);
            store.append(job, new JobEvent.ExecutionFinished(Jobs.succeeded(sampleOne, Instant.now()))).block(WAIT);
            // Sample 0 again is the migrated row's cell: refused.
            store.append(job, new JobEvent.ExecutionFinished(Jobs.succeeded(sampleZero, Instant.now()))).block(WAIT);

            List<ExecutionResult> rows = store.orderedExecutions(job).collectList().block(WAIT);
            assertThat(rows).extracting(ExecutionResult::cell).containsExactly(sampleZero, sampleOne);
            assertThat(rows.get(0).status().name()).isEqualTo("FAILED");
        } finally {
            pool.dispose();
        }
    }

    private static ConnectionPool pool(String url, String user, String password) {
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(url).mutate()
                .option(ConnectionFactoryOptions.USER, user)
                .option(ConnectionFactoryOptions.PASSWORD, password == null ? "" : password).build();
        return new ConnectionPool(ConnectionPoolConfiguration.builder(ConnectionFactories.get(options)).maxSize(2).build());
    }
}
