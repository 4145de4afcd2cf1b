package dev.beacon.runner.web.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Executions per second of the same run — 20 jobs of 8 questions × 8 endpoints (1,280 executions)
 * against a loopback OpenAI-compatible provider that answers at once — on one runner process, then on
 * two sharing the database. Measures, does not test: run with
 * {@code ./mvnw -o -Pbench -pl runner-web -am test -Dtest='dev.beacon.runner.web.cluster.ClusterThroughputBenchmark' -Dsurefire.failIfNoSpecifiedTests=false}.
 * On a machine with few cores the two processes (and PostgreSQL) compete for the same CPUs; the
 * figures say what this machine did, not how far the design scales.
 */
@Tag("benchmark")
class ClusterThroughputBenchmark {

    private static final int JOBS = 20;
    private static final int QUESTIONS = 8;
    private static final List<String> JVM = List.of("-Xmx512m", "-XX:+UseParallelGC");

    private Cluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void executionsPerSecondWithOneInstanceThenTwo() {
        cluster = new Cluster();
        cluster.provider.latency(Duration.ZERO);

        RunnerProcess solo = cluster.start("solo", JVM);
        solo.awaitReady(Duration.ofSeconds(120));
        run("warm-solo", List.of(solo), 4);
        double one = run("one", List.of(solo), JOBS);
        solo.kill();

        RunnerProcess a = cluster.start("a", JVM);
        RunnerProcess b = cluster.start("b", JVM);
        a.awaitReady(Duration.ofSeconds(120));
        b.awaitReady(Duration.ofSeconds(120));
        run("warm-two", List.of(a, b), 4);
        double two = run("two", List.of(a, b), JOBS);

        System.out.printf("throughput, %d jobs x %d questions x 8 endpoints, 0-latency loopback provider, %d cores: "
                + "one instance %.0f executions/s, two instances %.0f executions/s (x%.2f)%n",
                JOBS, QUESTIONS, Runtime.getRuntime().availableProcessors(), one, two, two / one);
    }

    /** Submits {@code jobs} jobs round-robin and waits for all; returns executions/s from first submit to last finish. */
    private double run(String name, List<RunnerProcess> instances, int jobs) {
        List<String> ids = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < jobs; i++) {
            ids.add(cluster.submit(instances.get(i % instances.size()), Cluster.job(name + "-" + i, QUESTIONS)));
        }
        Map<String, String> statuses = cluster.awaitTerminal(ids, Duration.ofMinutes(5));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(statuses.values()).as(cluster.logs()).containsOnly("SUCCEEDED");
        long executions = 0;
        OffsetDateTime first = null;
        OffsetDateTime last = null;
        for (String id : ids) {
            var row = cluster.rows("SELECT (SELECT COUNT(*) FROM executions e WHERE e.job_id = j.id) AS n, j.created_at, j.finished_at"
                    + " FROM jobs j WHERE j.id = :id", Map.of("id", UUID.fromString(id))).get(0);
            executions += ((Number) row.get("n")).longValue();
            OffsetDateTime created = (OffsetDateTime) row.get("created_at");
            OffsetDateTime finished = (OffsetDateTime) row.get("finished_at");
            first = first == null || created.isBefore(first) ? created : first;
            last = last == null || finished.isAfter(last) ? finished : last;
        }
        assertThat(executions).isEqualTo((long) jobs * QUESTIONS * 8);
        double stored = Duration.between(first, last).toNanos() / 1e9;
        double rate = executions / stored;
        System.out.printf("%s: %d jobs, %d executions in %.2f s (stored span; %.2f s wall incl. polling) = %.0f executions/s%n",
                name, jobs, executions, stored, seconds, rate);
        return rate;
    }
}
