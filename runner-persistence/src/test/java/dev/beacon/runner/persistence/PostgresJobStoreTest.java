package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;
import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class PostgresJobStoreTest extends JobStoreContract {

    @Override
    Database createDatabase() {
        return TestDatabases.postgres();
    }

    /**
     * Every statement that locks several jobs rows locks them in id order, as the group commit does;
     * a renewal that locked them in the order it found them (its index's, or the table's) deadlocked
     * with the group commit under load (seen in the benchmark suite with 1,000 jobs). Shown here
     * without load: while the lowest id is locked elsewhere, a renewal of every job must wait there
     * holding none of the others.
     */
    @Test
    void aLeaseRenewalLocksTheJobsInIdOrder() {
        List<JobId> ids = new ArrayList<>();
        for (int i = 47; i >= 0; i--) { // highest id first: the lowest is the last row of the table
            ids.add(new JobId(new UUID(0x1000L + i, 0)));
            clock.advance(Duration.ofSeconds(1));
            store.submit(new dev.beacon.runner.core.store.NewJob(ids.get(ids.size() - 1), Jobs.spec("order-" + i, 1, 1), null,
                    clock.instant())).block(WAIT);
        }
        assertThat(store.claim("owner", Duration.ofMinutes(5), ids.size(), Set.of()).count().block(WAIT)).isEqualTo(ids.size());
        JobId lowest = ids.get(ids.size() - 1);
        String jobs = (database.schema() == null ? "" : database.schema() + ".") + "jobs";

        Connection holder = Mono.from(database.connectionFactory().create()).block(WAIT);
        try {
            Mono.from(holder.beginTransaction()).block(WAIT);
            Flux.from(holder.createStatement("SELECT id FROM " + jobs + " WHERE id = $1 FOR UPDATE").bind("$1", lowest.value()).execute())
                    .flatMap(r -> r.map((row, meta) -> row.get(0))).blockLast(WAIT);

            CompletableFuture<List<JobId>> renewed = store.renewLeases("owner", ids, Duration.ofMinutes(5)).collectList().toFuture();
            DatabaseClient db = DatabaseClient.create(database.connectionFactory());
            Awaitility.await("the renewal waits for the lowest id's lock").atMost(WAIT).until(() -> db.sql(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE %lease_until%'")
                    .map((row, meta) -> row.get(0, Long.class)).one().block(WAIT) > 0);

            Long free = db.sql("SELECT count(*) FROM (SELECT id FROM " + jobs + " WHERE id <> :lowest FOR UPDATE SKIP LOCKED) t")
                    .bind("lowest", lowest.value()).map((row, meta) -> row.get(0, Long.class)).one().block(WAIT);
            assertThat(free).as("jobs the waiting renewal holds no lock on").isEqualTo(ids.size() - 1);

            Mono.from(holder.rollbackTransaction()).block(WAIT);
            assertThat(renewed.join()).containsExactlyInAnyOrderElementsOf(ids);
        } finally {
            Mono.from(holder.close()).block(WAIT);
        }
    }

    /**
     * The finished-cells statement reads which cells have a row from its snapshot, taken before it
     * waits for the job's lock. Here another writer holds that lock, stores the cell's row and its
     * event and commits while the statement waits: the statement does not see that row, its insert
     * fails on the cell's unique key, and the batch is written again on a new snapshot, which skips
     * the cell. One row, one event, no seq skipped, and the append completes empty as for any cell
     * that already has its row.
     */
    @Test
    void aCellCommittedByAnotherWriterWhileTheBatchWaitedForTheLockIsSkippedWithoutAGap() {
        JobRecord job = submit(Jobs.spec("race", 1, 2));
        List<Cell> cells = CellLayout.cells(job.spec());
        Cell raced = cells.get(0);
        String prefix = database.schema() == null ? "" : database.schema() + ".";
        DatabaseClient db = DatabaseClient.create(database.connectionFactory());

        Connection other = Mono.from(database.connectionFactory().create()).block(WAIT);
        try {
            Mono.from(other.beginTransaction()).block(WAIT);
            run(other, "SELECT id FROM " + prefix + "jobs WHERE id = $1 FOR UPDATE", job.id().value());
            run(other, "INSERT INTO " + prefix + "executions (job_id, question_id, model_id, region, sample, status, attempts, completed_at)"
                    + " VALUES ($1, '" + raced.questionId() + "', '" + raced.endpoint().model() + "', '" + raced.endpoint().region()
                    + "', 0, 'SUCCEEDED', 1, now())", job.id().value());
            run(other, "INSERT INTO " + prefix + "job_events (job_id, seq, type, data, created_at)"
                    + " VALUES ($1, 2, 'execution.finished', '{}', now())", job.id().value());
            run(other, "UPDATE " + prefix + "jobs SET event_seq = 2 WHERE id = $1", job.id().value());

            CompletableFuture<List<StoredEvent>> append = store.append(job.id(), new JobEvent.ExecutionFinished(
                    Jobs.succeeded(raced, clock.instant()))).flux().collectList().toFuture();
            Awaitility.await("the batch waits for the job's lock").atMost(WAIT).until(() -> db.sql(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH items AS%'")
                    .map((row, meta) -> row.get(0, Long.class)).one().block(WAIT) > 0);
            Mono.from(other.commitTransaction()).block(WAIT);

            assertThat(append.join()).as("nothing stored for a cell that has its row").isEmpty();
        } finally {
            Mono.from(other.close()).block(WAIT);
        }
        assertThat(finish(job.id(), cells.get(1)).seq()).isEqualTo(3);
        assertThat(db.sql("SELECT seq FROM " + prefix + "job_events WHERE job_id = :id ORDER BY seq").bind("id", job.id().value())
                .map((row, meta) -> row.get(0, Long.class)).all().collectList().block(WAIT)).containsExactly(1L, 2L, 3L);
        assertThat(db.sql("SELECT count(*) FROM " + prefix + "executions WHERE job_id = :id AND question_id = :q AND region = :r")
                .bind("id", job.id().value()).bind("q", raced.questionId()).bind("r", raced.endpoint().region())
                .map((row, meta) -> row.get(0, Long.class)).one().block(WAIT)).isEqualTo(1);
    }

    private static void run(Connection connection, String sql, Object first) {
        Flux.from(connection.createStatement(sql).bind("$1", first).execute()).flatMap(r -> r.getRowsUpdated()).blockLast(WAIT);
    }
}
