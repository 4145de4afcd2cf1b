package dev.beacon.runner.web.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An instance killed with {@code kill -9} and started again under the same name resumes its jobs as
 * soon as it is ready, without waiting for the leases its predecessor held (a minute here); a second
 * live instance on the same host and database never gets that name, nor its jobs.
 */
class RestartResumeTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String LONG_LEASE = "--beacon.runner.dispatcher.lease=PT60S";
    private static final String HEARTBEAT = "--beacon.runner.dispatcher.heartbeat=PT10S";

    private Cluster cluster;

    @BeforeEach
    void startCluster() {
        cluster = new Cluster();
        cluster.provider.latency(Duration.ofMillis(300));
    }

    @AfterEach
    void stopCluster() {
        cluster.close();
    }

    @Test
    void aRestartedInstanceResumesItsJobsAtOnceRatherThanAfterTheirLeases() {
        RunnerProcess first = cluster.start("a", Cluster.smallJvm(), LONG_LEASE, HEARTBEAT);
        first.awaitReady(TIMEOUT);
        String job = cluster.submit(first, Cluster.job("restart", 8));
        UUID id = UUID.fromString(job);
        await().atMost(TIMEOUT).until(() -> cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", id)) >= 12);
        first.kill();
        Instant leaseEnd = ((OffsetDateTime) cluster.rows("SELECT lease_until FROM jobs WHERE id = :id", Map.of("id", id))
                .get(0).get("lease_until")).toInstant();
        long requestsBefore = cluster.provider.totalRequests();

        RunnerProcess second = cluster.start("a", Cluster.smallJvm(), LONG_LEASE, HEARTBEAT);
        second.awaitReady(TIMEOUT);
        Instant ready = Instant.now();
        await().atMost(TIMEOUT).until(() -> cluster.provider.totalRequests() > requestsBefore);
        Instant resumed = Instant.now();

        assertThat(cluster.awaitTerminal(List.of(job), TIMEOUT)).containsEntry(job, "SUCCEEDED");
        List<Map<String, Object>> starts = cluster.rows(
                "SELECT data->>'runner' AS runner, created_at FROM job_events WHERE job_id = :id AND type = 'job.started' ORDER BY seq",
                Map.of("id", id));
        assertThat(starts).extracting(r -> r.get("runner")).containsExactly("a", "a");
        Instant restartedAt = ((OffsetDateTime) starts.get(1).get("created_at")).toInstant();
        assertThat(restartedAt).as("resumed while the dead process's lease still held").isBefore(leaseEnd);
        assertThat(second.log()).contains("released job " + job);
        assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", id))).isEqualTo(64);
        assertThat(cluster.provider.overlaps()).isEmpty();
        // Neither process was given a key: each signed with a fresh one, and both stay published, so the
        // job's receipts from before and after the restart, and its seal, all verify from the bundle.
        assertThat(cluster.count("SELECT COUNT(DISTINCT receipt_json->>'runnerKeyId') FROM executions WHERE job_id = :id", Map.of("id", id)))
                .isEqualTo(2);
        assertThat(cluster.count("SELECT COUNT(*) FROM runner_keys", Map.of())).isGreaterThanOrEqualTo(2);
        String bundle = Cluster.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(second.baseUrl() + "/jobs/" + job + "/bundle"))
                .build()).body();
        dev.beacon.runner.core.evidence.BundleVerifier verifier = new dev.beacon.runner.core.evidence.BundleVerifier();
        assertThat(verifier.verify(verifier.read(bundle)).problems()).isEmpty();
        System.out.printf("restart of a killed instance: first provider request of its job %d ms after the new process was ready"
                + " (its predecessor's lease had %d s left)%n", Duration.between(ready, resumed).toMillis(),
                Duration.between(restartedAt, leaseEnd).toSeconds());
    }

    @Test
    void twoLiveInstancesWithoutConfiguredNamesGetDifferentNamesAndNeverTakeEachOthersJobs() {
        RunnerProcess one = cluster.start("unused", Cluster.smallJvm(), "--beacon.runner.dispatcher.instance-id=", LONG_LEASE, HEARTBEAT);
        one.awaitReady(TIMEOUT);
        RunnerProcess two = cluster.start("unused-2", Cluster.smallJvm(), "--beacon.runner.dispatcher.instance-id=", LONG_LEASE, HEARTBEAT);
        two.awaitReady(TIMEOUT);

        List<String> jobs = List.of(cluster.submit(one, Cluster.job("names-1", 4)), cluster.submit(two, Cluster.job("names-2", 4)),
                cluster.submit(one, Cluster.job("names-3", 4)), cluster.submit(two, Cluster.job("names-4", 4)));

        assertThat(cluster.awaitTerminal(jobs, TIMEOUT).values()).containsOnly("SUCCEEDED");
        String nameOne = heldName(one);
        String nameTwo = heldName(two);
        assertThat(nameTwo).isEqualTo(nameOne + "-2");
        List<String> names = cluster.rows("SELECT DISTINCT data->>'runner' AS runner FROM job_events WHERE type = 'job.started'", Map.of())
                .stream().map(r -> (String) r.get("runner")).toList();
        assertThat(names).isSubsetOf(nameOne, nameTwo);
        assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE type = 'job.started'", Map.of())).as("each job started once").isEqualTo(4);
        assertThat(cluster.provider.overlaps()).isEmpty();
    }

    private static String heldName(RunnerProcess process) {
        var matcher = java.util.regex.Pattern.compile("runner instance name '([^']+)' held on the database").matcher(process.log());
        assertThat(matcher.find()).as("%s logged the name it holds", process.name()).isTrue();
        return matcher.group(1);
    }
}
