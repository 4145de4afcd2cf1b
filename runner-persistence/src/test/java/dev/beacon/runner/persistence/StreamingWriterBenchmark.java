package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Prints (does not assert) the throughput of {@code execution.finished} appends against PostgreSQL:
 * the store's group commit at several concurrencies, the store with one transaction per append, and
 * a naive loop of single-row INSERTs. Run with {@code -Pbench} (README, "Performance").
 */
@Tag("benchmark")
class StreamingWriterBenchmark {

    /** {@code -Dbench.writer.jobs=250}: more rows per run (200 per job), for a steadier figure or a profile. */
    static final int JOBS = Integer.getInteger("bench.writer.jobs", 50);
    static final int QUESTIONS = 25;
    static final int REGIONS = 8; // 200 cells per job, 10,000 per run by default
    /** {@code -Dbench.writer=up to 512}: only the configurations whose label contains this text. */
    static final String ONLY = System.getProperty("bench.writer", "");

    @Test
    void executionFinishedThroughput() {
        try (Database db = TestDatabases.postgres()) {
            R2dbcJobStore grouped = R2dbcJobStore.builder(db.connectionFactory()).batching(64, 2).build();
            R2dbcJobStore large = R2dbcJobStore.builder(db.connectionFactory()).batching(512, 2).build();
            R2dbcJobStore single = R2dbcJobStore.builder(db.connectionFactory()).batching(1, 16).build();
            R2dbcJobStore defaults = R2dbcJobStore.builder(db.connectionFactory()).build(); // what the runner uses

            run("warm-up (group commit, c=32)", grouped, 32);
            run("warm-up (group commit up to 512, c=1024)", large, 1024);
            run("warm-up (group commit, defaults, c=1024)", defaults, 1024);
            run("warm-up (one tx per append, c=16)", single, 16);
            naive(db, "warm-up (naive insert loop)");

            // The build machines are shared and noisy: three rounds, every configuration in each round.
            List<String> lines = new ArrayList<>();
            for (int round = 1; round <= 3; round++) {
                lines.add("-- round " + round);
                for (int concurrency : new int[] {8, 32, 64}) {
                    lines.add(run("group commit, concurrency " + concurrency, grouped, concurrency));
                }
                for (int concurrency : new int[] {256, 1024}) {
                    lines.add(run("group commit up to 512 rows, concurrency " + concurrency, large, concurrency));
                }
                for (int concurrency : new int[] {256, 1024}) {
                    lines.add(run("group commit, defaults (256 rows, 4 in flight), concurrency " + concurrency, defaults, concurrency));
                }
                lines.add(run("one transaction per append, concurrency 16", single, 16));
                lines.add(run("one transaction per append, concurrency 64", single, 64));
                lines.add(naive(db, "naive single-row INSERT loop (autocommit, no event)"));
            }
            System.out.println("\n=== execution.finished throughput, PostgreSQL (embedded), " + JOBS * QUESTIONS * REGIONS + " rows per run ===");
            lines.forEach(System.out::println);
            System.out.println();
        }
    }

    private String run(String label, R2dbcJobStore store, int concurrency) {
        if (!label.contains(ONLY)) {
            return label + ": skipped (-Dbench.writer=" + ONLY + ")";
        }
        List<Map.Entry<JobId, ExecutionResult>> appends = plan(store);
        long[] before = store.batchStats();
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long stored = Flux.fromIterable(appends)
                .flatMap(a -> Mono.defer(() -> {
                    long t = System.nanoTime();
                    return store.append(a.getKey(), new JobEvent.ExecutionFinished(a.getValue()))
                            .doOnNext(e -> latencies.add(System.nanoTime() - t));
                }), concurrency)
                .count().block(Duration.ofMinutes(5));
        double seconds = (System.nanoTime() - start) / 1e9;
        long[] after = store.batchStats();
        long batches = after[0] - before[0];
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        return "%-70s %8.0f rows/s  (%d rows in %.2f s, %d transactions, avg batch %.1f, latency p50 %.1f ms p99 %.1f ms)"
                .formatted(label, stored / seconds, stored, seconds, batches, (after[1] - before[1]) / (double) Math.max(1, batches),
                        sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) (sorted.size() * 0.99)) / 1e6);
    }

    private String naive(Database db, String label) {
        if (!label.contains(ONLY)) {
            return label + ": skipped (-Dbench.writer=" + ONLY + ")";
        }
        R2dbcJobStore store = R2dbcJobStore.builder(db.connectionFactory()).build();
        List<Map.Entry<JobId, ExecutionResult>> rows = plan(store);
        DatabaseClient client = DatabaseClient.create(db.connectionFactory());
        long start = System.nanoTime();
        long n = Flux.fromIterable(rows)
                .concatMap(r -> {
                    ExecutionResult e = r.getValue();
                    return client.sql("""
                            INSERT INTO executions (job_id, question_id, model_id, region, provider_id, status, attempts,
                                                    output_json, completed_at, latency_ms)
                            VALUES (:j, :q, :m, :r, :p, :s, :a, CAST(:o AS jsonb), :c, :l)""")
                            .bind("j", r.getKey().value()).bind("q", e.cell().questionId())
                            .bind("m", e.cell().endpoint().model()).bind("r", e.cell().endpoint().region())
                            .bind("p", e.providerId()).bind("s", e.status().name()).bind("a", e.attempts())
                            .bind("o", "{\"text\":\"" + e.output().text() + "\"}")
                            .bind("c", OffsetDateTime.ofInstant(e.completedAt(), ZoneOffset.UTC)).bind("l", e.latencyMs())
                            .fetch().rowsUpdated();
                })
                .count().block(Duration.ofMinutes(5));
        double seconds = (System.nanoTime() - start) / 1e9;
        return "%-70s %8.0f rows/s  (%d rows in %.2f s, %d transactions)".formatted(label, n / seconds, n, seconds, n);
    }

    /** Fresh jobs, and one append per cell, interleaved across jobs as concurrent jobs would produce them. */
    private static List<Map.Entry<JobId, ExecutionResult>> plan(R2dbcJobStore store) {
        List<JobRecord> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            jobs.add(store.submit(Jobs.newJob(Jobs.spec("bench-" + i, QUESTIONS, REGIONS), null, Instant.now())).block().job());
        }
        List<List<Cell>> cellsOfJobs = jobs.stream().map(job -> CellLayout.cells(job.spec())).toList();
        List<Map.Entry<JobId, ExecutionResult>> appends = new ArrayList<>();
        int cells = QUESTIONS * REGIONS;
        for (int c = 0; c < cells; c++) {
            for (int j = 0; j < jobs.size(); j++) {
                appends.add(Map.entry(jobs.get(j).id(), Jobs.succeeded(cellsOfJobs.get(j).get(c), Instant.now())));
            }
        }
        return appends;
    }
}
