package dev.beacon.runner.web.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.persistence.testing.RestartablePostgres;
import dev.beacon.runner.persistence.testing.TcpRelay;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Runner processes whose link to PostgreSQL is black-holed mid-job for longer than the lease —
 * connections stay open and nothing is answered, as in a partition or with a frozen primary — then
 * restored. Whatever the database does, runs of one job never overlap: the provider never sees a
 * question's request while another question (or the same cell) of that job is unanswered, no stored
 * cell is asked again, the event log stays gap-free with one {@code execution.finished} per cell, and
 * the job finishes.
 *
 * <p>Lease 6 s, heartbeat 2 s (the {@link Cluster}'s): an owner that cannot renew stops its run 5 s
 * after its last renewal was sent.
 */
class DatabaseOutageTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int QUESTIONS = 10;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

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
    void anOwnerCutOffFromItsDatabaseStopsItsRunBeforeTheLeaseEndsAndResumesItAloneAfterwards() throws Exception {
        try (TcpRelay link = cluster.relay()) {
            RunnerProcess a = cluster.startBehind(link, "a", Cluster.smallJvm());
            a.awaitReady(TIMEOUT);
            String job = cluster.submit(a, Cluster.job("stall", QUESTIONS));
            awaitStored(job, 16); // two questions done, the third in flight

            link.blackHole();
            // While the database does not answer, the API says so instead of hanging.
            HttpResponse<String> during = HTTP.send(HttpRequest.newBuilder(URI.create(a.baseUrl() + "/jobs/" + job))
                    .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(TIMEOUT).until(() -> a.log().contains("lease not renewed"));
            await().atMost(TIMEOUT).until(() -> leaseExpired(job));
            link.restore();

            assertThat(cluster.awaitTerminal(List.of(job), TIMEOUT)).containsEntry(job, "SUCCEEDED");
            assertThat(during.statusCode()).isEqualTo(503);
            assertThat(during.headers().firstValue("Retry-After")).isPresent();
            assertThat(during.body()).contains("storage-unavailable");
            assertRanOnceAtATime(job, "stall", QUESTIONS);
            assertThat(starts(job)).as("the run stopped by its owner, then its resume").containsExactly("a", "a");

            // The heartbeat survived the stall: a job longer than several leases runs to the end
            // under one claim.
            String after = cluster.submit(a, Cluster.job("after", 40));
            assertThat(cluster.awaitTerminal(List.of(after), TIMEOUT)).containsEntry(after, "SUCCEEDED");
            assertThat(starts(after)).containsExactly("a");
            assertRanOnceAtATime(after, "after", 40);
        }
    }

    @Test
    void anOwnerCutOffFromItsDatabaseStopsBeforeAnotherInstanceTakesTheJobOver() {
        try (TcpRelay linkA = cluster.relay(); TcpRelay linkB = cluster.relay()) {
            RunnerProcess a = cluster.startBehind(linkA, "a", Cluster.smallJvm());
            RunnerProcess b = cluster.startBehind(linkB, "b", Cluster.smallJvm());
            a.awaitReady(TIMEOUT);
            b.awaitReady(TIMEOUT);
            String job = cluster.submit(a, Cluster.job("takeover", QUESTIONS));
            await().atMost(TIMEOUT).until(() -> !starts(job).isEmpty());
            String ownerName = starts(job).get(0);
            RunnerProcess owner = ownerName.equals("a") ? a : b;
            String otherName = owner == a ? "b" : "a";
            TcpRelay ownersLink = owner == a ? linkA : linkB;
            awaitStored(job, 16);

            ownersLink.blackHole();
            await().atMost(TIMEOUT).until(() -> owner.log().contains("lease not renewed"));
            await().atMost(TIMEOUT).until(() -> starts(job).contains(otherName));
            // The owner comes back while the other runs the job: whatever it still had on the wire is refused.
            ownersLink.restore();

            assertThat(cluster.awaitTerminal(List.of(job), TIMEOUT)).containsEntry(job, "SUCCEEDED");
            assertRanOnceAtATime(job, "takeover", QUESTIONS);
            assertThat(starts(job)).containsExactly(ownerName, otherName);
        }
    }

    @Test
    void aPostgresRestartMidJobStopsTheRunAndItResumesOnceTheDatabaseIsBack() {
        cluster.close();
        try (RestartablePostgres postgres = new RestartablePostgres()) {
            cluster = new Cluster(postgres.database());
            cluster.provider.latency(Duration.ofMillis(300));
            RunnerProcess a = cluster.start("a", Cluster.smallJvm());
            a.awaitReady(TIMEOUT);
            String job = cluster.submit(a, Cluster.job("restart", QUESTIONS));
            awaitStored(job, 16);

            postgres.stop();
            await().atMost(TIMEOUT).until(() -> STOPPED_RUN.stream().anyMatch(a.log()::contains));
            postgres.start();

            assertThat(cluster.awaitTerminal(List.of(job), TIMEOUT)).containsEntry(job, "SUCCEEDED");
            assertRanOnceAtATime(job, "restart", QUESTIONS);
            assertThat(starts(job)).containsExactly("a", "a");
        }
    }

    /** What a runner logs when it stops a run because of the database: the watchdog, or a write that failed for good. */
    private static final List<String> STOPPED_RUN = List.of("lease not renewed", "stopped by a storage error");

    private void awaitStored(String job, int cells) {
        await().atMost(TIMEOUT).until(() -> cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", UUID.fromString(job)))
                >= cells);
    }

    /** Whether the job's lease has ended by the database's clock (read directly, not through a relay). */
    private boolean leaseExpired(String job) {
        return cluster.count("SELECT COUNT(*) FROM jobs WHERE id = :id AND (lease_until IS NULL OR lease_until < now())",
                Map.of("id", UUID.fromString(job))) == 1;
    }

    private List<String> starts(String job) {
        return cluster.rows("SELECT data->>'runner' AS runner FROM job_events WHERE job_id = :id AND type = 'job.started' ORDER BY seq",
                        Map.of("id", UUID.fromString(job)))
                .stream().map(row -> (String) row.get("runner")).toList();
    }

    /**
     * The invariants of one job, checked at the provider and in the database: no overlap of runs or
     * questions, cells asked again only among those of the one question in flight at the outage,
     * every cell stored once with its event, a gap-free log ending with job.finished.
     */
    private void assertRanOnceAtATime(String job, String tag, int questions) {
        assertThat(cluster.provider.overlaps()).as("requests while another question (or the same cell) was unanswered").isEmpty();
        Map<String, Integer> requests = cluster.provider.requestsPerCell().entrySet().stream()
                .filter(e -> e.getKey().contains("|" + tag + " question "))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        List<String> cells = Cluster.cells(tag, questions);
        assertThat(requests.keySet()).containsExactlyInAnyOrderElementsOf(cells);
        Set<String> repeated = requests.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(Collectors.toSet());
        assertThat(requests.values()).as("no cell asked more than twice").allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(2));
        assertThat(repeated.stream().map(cell -> cell.substring(cell.indexOf('|') + 1)).distinct().count())
                .as("cells asked again all belong to the question in flight at the outage: %s", repeated).isLessThanOrEqualTo(1);

        UUID id = UUID.fromString(job);
        assertThat(cluster.storedCells(job, tag)).containsExactlyInAnyOrderElementsOf(cells);
        List<Map<String, Object>> events = cluster.rows("SELECT seq, type, data->>'questionId' AS q,"
                + " data->>'modelId' AS m, data->>'region' AS r FROM job_events WHERE job_id = :id ORDER BY seq",
                Map.of("id", id));
        for (int i = 0; i < events.size(); i++) {
            assertThat(((Number) events.get(i).get("seq")).longValue()).as("gap-free").isEqualTo(i + 1);
        }
        List<String> finishedCells = events.stream().filter(e -> "execution.finished".equals(e.get("type")))
                .map(e -> e.get("q") + "/" + e.get("m") + "/" + e.get("r")).toList();
        assertThat(finishedCells).hasSize(cells.size()).doesNotHaveDuplicates();
        assertThat(events.get(events.size() - 1).get("type")).isEqualTo("job.finished");
    }
}
