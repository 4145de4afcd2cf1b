package dev.beacon.runner.web.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.http.codec.ServerSentEvent;
import reactor.core.Disposable;
import tools.jackson.databind.JsonNode;

/**
 * Two runner processes on one PostgreSQL database (README, "Command line"): they share the work, each job
 * runs on exactly one of them, events and cancels cross between them, and a job whose process is
 * killed ({@code kill -9}) is resumed by the other, re-running only the cells that were in flight.
 *
 * <p>The kill test runs last: it leaves one instance.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoInstancesOnOnePostgresTest {

    private static final Duration LEASE = Duration.ofSeconds(6);
    private static final Duration HEARTBEAT = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(500);

    private static Cluster cluster;
    private static RunnerProcess a;
    private static RunnerProcess b;

    @BeforeAll
    static void startTwoInstances() {
        cluster = new Cluster();
        a = cluster.start("a", Cluster.smallJvm());
        b = cluster.start("b", Cluster.smallJvm());
        try {
            a.awaitReady(Duration.ofSeconds(120));
            b.awaitReady(Duration.ofSeconds(120));
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    @AfterAll
    static void stopInstances() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void fiftyJobsEachRunExactlyOnceAndBothInstancesTakeWork() {
        cluster.provider.latency(Duration.ofMillis(10));
        int questions = 2;
        Map<String, String> tags = new HashMap<>();
        for (int i = 0; i < 50; i++) {
            String tag = "fifty-" + i;
            tags.put(cluster.submit(i % 2 == 0 ? a : b, Cluster.job(tag, questions)), tag);
        }

        Map<String, String> statuses = cluster.awaitTerminal(tags.keySet(), Duration.ofSeconds(90));
        assertThat(statuses).as(cluster.logs()).hasSize(50).allSatisfy((id, status) -> assertThat(status).isEqualTo("SUCCEEDED"));

        Map<String, List<String>> runners = new HashMap<>();
        for (var row : cluster.rows("SELECT job_id::text AS id, data->>'runner' AS runner FROM job_events WHERE type = 'job.started'", Map.of())) {
            runners.computeIfAbsent((String) row.get("id"), k -> new ArrayList<>()).add((String) row.get("runner"));
        }
        assertThat(runners.keySet()).containsAll(tags.keySet());
        tags.keySet().forEach(id -> assertThat(runners.get(id)).as("job.started of %s", id).hasSize(1));
        Map<String, Long> perInstance = tags.keySet().stream()
                .collect(Collectors.groupingBy(id -> runners.get(id).get(0), Collectors.counting()));
        System.out.printf("50 jobs: instance a ran %d, instance b ran %d%n", perInstance.getOrDefault("a", 0L), perInstance.getOrDefault("b", 0L));
        assertThat(perInstance).as("both instances take work").containsOnlyKeys("a", "b");

        for (var e : tags.entrySet()) {
            UUID id = UUID.fromString(e.getKey());
            assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", id))).isEqualTo(16);
            assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'execution.finished'", Map.of("id", id)))
                    .isEqualTo(16);
            assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id AND status = 'SUCCEEDED'", Map.of("id", id)))
                    .isEqualTo(16);
        }
        Map<String, Integer> requests = cluster.provider.requestsPerCell();
        for (String tag : tags.values()) {
            for (String cell : Cluster.cells(tag, questions)) {
                assertThat(requests.get(cell)).as("requests for %s", cell).isEqualTo(1);
            }
        }
        // A finished job's evidence bundle is the same bytes from either instance, whichever ran it.
        String someJob = tags.keySet().iterator().next();
        String fromA = Cluster.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(a.baseUrl() + "/jobs/" + someJob + "/bundle")).build()).body();
        String fromB = Cluster.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(b.baseUrl() + "/jobs/" + someJob + "/bundle")).build()).body();
        assertThat(fromA).startsWith("{\"format\":\"beacon-bundle/1\"").isEqualTo(fromB);
    }

    @Test
    @Order(2)
    void subscriberOnOneInstanceSeesEveryEventOfJobOnTheOtherAndCancelThereStopsIt() throws Exception {
        cluster.provider.latency(Duration.ofMillis(400));
        String tag = "watched";
        String id = cluster.submit(a, Cluster.job(tag, 10));
        List<ServerSentEvent<String>> seenOnA = new CopyOnWriteArrayList<>();
        List<ServerSentEvent<String>> seenOnB = new CopyOnWriteArrayList<>();
        Map<String, Long> finishedAt = new ConcurrentHashMap<>();
        Disposable onA = Cluster.events(a, id).doOnNext(seenOnA::add)
                .doOnComplete(() -> finishedAt.put("a", System.nanoTime())).subscribe();
        Disposable onB = Cluster.events(b, id).doOnNext(seenOnB::add)
                .doOnComplete(() -> finishedAt.put("b", System.nanoTime())).subscribe();
        try {
            String runner = awaitRunner(id, Duration.ofSeconds(20));
            RunnerProcess owner = runner.equals("a") ? a : b;
            RunnerProcess other = owner == a ? b : a;
            List<ServerSentEvent<String>> watched = owner == a ? seenOnB : seenOnA;
            // let it run into its second question, so cells are in flight at the owner
            await(() -> watched.stream().anyMatch(e -> "question.started".equals(e.event())
                    && Cluster.JSON.readTree(e.data()).path("index").asInt() == 1), Duration.ofSeconds(20), "second question");
            await(() -> cluster.provider.inFlight().stream().anyMatch(c -> c.contains(tag)), Duration.ofSeconds(5), "cells in flight");

            long cancelStart = System.nanoTime();
            assertThat(cluster.cancel(other, id)).isEqualTo(202);
            await(() -> cluster.provider.inFlight().stream().noneMatch(c -> c.contains(tag)), Duration.ofSeconds(5), "in-flight cells closed");
            long callsClosed = System.nanoTime();
            await(() -> finishedAt.containsKey(other.name()), Duration.ofSeconds(5), "job.finished on the watching instance");
            double closedMs = (callsClosed - cancelStart) / 1e6;
            double finishedMs = (finishedAt.get(other.name()) - cancelStart) / 1e6;
            System.out.printf("cancel sent to %s, job on %s: in-flight calls closed after %.0f ms, job.finished seen on %s after %.0f ms%n",
                    other.name(), owner.name(), closedMs, other.name(), finishedMs);

            List<ServerSentEvent<String>> events = List.copyOf(watched);
            for (int i = 0; i < events.size(); i++) {
                assertThat(events.get(i).id()).as("event %d of %s", i, events).isEqualTo(Long.toString(i + 1));
                JsonNode data = Cluster.JSON.readTree(events.get(i).data());
                assertThat(data.path("seq").asLong()).isEqualTo(i + 1);
                assertThat(data.path("jobId").asString()).isEqualTo(id);
            }
            ServerSentEvent<String> last = events.get(events.size() - 1);
            assertThat(last.event()).isEqualTo("job.finished");
            assertThat(Cluster.JSON.readTree(last.data()).path("status").asString()).isEqualTo("CANCELLED");
            long stored = cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id", Map.of("id", UUID.fromString(id)));
            assertThat(events).as("every stored event, seen live on the other instance").hasSize((int) stored);
            await(() -> finishedAt.containsKey(owner.name()), Duration.ofSeconds(5), "job.finished on the owner");
            assertThat(seenOnA.stream().map(ServerSentEvent::id).toList()).isEqualTo(seenOnB.stream().map(ServerSentEvent::id).toList());
            assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", UUID.fromString(id)))).isEqualTo(80);
        } finally {
            onA.dispose();
            onB.dispose();
        }
    }

    @Test
    @Order(3)
    void pausedOwnerResumingAfterTakeoverWritesNothingAndTheNewOwnerFinishesTheJob() {
        cluster.provider.latency(Duration.ofMillis(300));
        String tag = "paused";
        int questions = 6;
        String id = cluster.submit(b, Cluster.job(tag, questions));
        UUID uuid = UUID.fromString(id);
        String runner = awaitRunner(id, Duration.ofSeconds(20));
        RunnerProcess owner = runner.equals("a") ? a : b;
        RunnerProcess other = owner == a ? b : a;
        await(() -> cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", uuid)) >= 12, Duration.ofSeconds(30), "12 cells");
        await(() -> cluster.provider.inFlight().stream().filter(c -> c.contains("|" + tag + " ")).count() >= 4, Duration.ofSeconds(5),
                "cells in flight");

        owner.signal("STOP"); // its in-flight answers arrive while it cannot read them
        try {
            await(() -> awaitRunners(uuid).size() == 2, LEASE.plus(POLL).plus(Duration.ofSeconds(5)), "takeover");
        } finally {
            owner.signal("CONT");
        }
        Map<String, String> statuses = cluster.awaitTerminal(List.of(id), Duration.ofSeconds(60));
        assertThat(statuses).as(cluster.logs()).containsEntry(id, "SUCCEEDED");
        // The resumed owner stops its stale run (its watchdog, its heartbeat or a refused write, whichever
        // comes first); only then is everything it could still write accounted for.
        await(() -> STOPPED_RUN.stream().anyMatch(owner.log()::contains), Duration.ofSeconds(30), "the resumed owner stopping its run");

        assertThat(awaitRunners(uuid)).containsExactly(owner.name(), other.name());
        Map<String, Object> ids = Map.of("id", uuid);
        assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", ids)).isEqualTo(questions * 8L);
        assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'execution.finished'", ids))
                .isEqualTo(questions * 8L);
        assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'job.finished'", ids)).isEqualTo(1);
        // without fencing the old owner would record question.finished for the question it was in
        var finishedPerQuestion = cluster.rows("SELECT data->>'index' AS q, COUNT(*) AS n FROM job_events"
                + " WHERE job_id = :id AND type = 'question.finished' GROUP BY data->>'index'", ids);
        assertThat(finishedPerQuestion).hasSize(questions).allSatisfy(r -> assertThat(((Number) r.get("n")).longValue()).isEqualTo(1));
        long lastSeq = cluster.count("SELECT MAX(seq) FROM job_events WHERE job_id = :id", ids);
        assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id", ids)).isEqualTo(lastSeq);
        assertThat(owner.isAlive()).isTrue();
        System.out.printf("paused owner %s resumed after takeover by %s: %s%n", owner.name(), other.name(),
                owner.log().contains("lease not renewed") ? "its watchdog stopped the run"
                        : owner.log().contains("its lease was lost") ? "its writes were refused (fenced)" : "its heartbeat found the lease lost");
    }

    /** What an owner logs when it stops a run it no longer owns. */
    private static final List<String> STOPPED_RUN = List.of("lease not renewed", "its lease was lost", "lost the lease of job");

    private static List<String> awaitRunners(UUID id) {
        return cluster.rows("SELECT data->>'runner' AS runner FROM job_events WHERE job_id = :id AND type = 'job.started' ORDER BY seq",
                Map.of("id", id)).stream().map(r -> (String) r.get("runner")).toList();
    }

    @Test
    @Order(4)
    void killedInstancesJobIsResumedByTheOtherRerunningOnlyCellsInFlight() {
        cluster.provider.latency(Duration.ofMillis(300));
        String tag = "orphan";
        int questions = 8;
        String id = cluster.submit(a, Cluster.job(tag, questions));
        UUID uuid = UUID.fromString(id);
        String runner = awaitRunner(id, Duration.ofSeconds(20));
        RunnerProcess owner = runner.equals("a") ? a : b;
        RunnerProcess survivor = owner == a ? b : a;
        // kill mid-job, while a question's cells are in flight
        await(() -> cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", uuid)) >= 20, Duration.ofSeconds(30), "20 cells");
        await(() -> cluster.provider.inFlight().stream().filter(c -> c.contains(tag)).count() >= 4, Duration.ofSeconds(5), "cells in flight");

        Instant killedAt = Instant.now();
        owner.kill();
        assertThat(cluster.statuses(List.of(id))).containsEntry(id, "RUNNING");

        Map<String, String> statuses = cluster.awaitTerminal(List.of(id), Duration.ofSeconds(60));
        assertThat(statuses).as(cluster.logs()).containsEntry(id, "SUCCEEDED");

        var started = cluster.rows("SELECT seq, data->>'runner' AS runner, created_at FROM job_events WHERE job_id = :id AND type = 'job.started' ORDER BY seq",
                Map.of("id", uuid));
        assertThat(started).extracting(r -> r.get("runner")).containsExactly(owner.name(), survivor.name());
        Instant takenOver = ((OffsetDateTime) started.get(1).get("created_at")).toInstant();
        // Rows completed before the takeover were stored by the dead owner (both processes share this machine's clock).
        Set<String> storedByOwner = new HashSet<>();
        for (var row : cluster.rows("SELECT question_id, model_id, region FROM executions WHERE job_id = :id AND completed_at < :t",
                Map.of("id", uuid, "t", takenOver.atOffset(java.time.ZoneOffset.UTC)))) {
            int index = Integer.parseInt(((String) row.get("question_id")).substring(1));
            storedByOwner.add(LoopbackOpenAi.cell(row.get("model_id") + "_" + row.get("region"), Cluster.questionText(tag, index)));
        }
        System.out.printf("kill -9 of %s mid-job (%d of %d cells stored): %s took over after %d ms (lease %s, heartbeat %s, poll %s)%n",
                owner.name(), storedByOwner.size(), questions * 8, survivor.name(), Duration.between(killedAt, takenOver).toMillis(),
                LEASE, HEARTBEAT, POLL);

        assertThat(storedByOwner).hasSizeGreaterThanOrEqualTo(20);
        assertThat(cluster.count("SELECT COUNT(*) FROM executions WHERE job_id = :id", Map.of("id", uuid))).isEqualTo(questions * 8L);
        assertThat(cluster.count("SELECT COUNT(*) FROM job_events WHERE job_id = :id AND type = 'execution.finished'", Map.of("id", uuid)))
                .as("one execution.finished per cell").isEqualTo(questions * 8L);
        Map<String, Integer> requests = cluster.provider.requestsPerCell();
        List<String> askedAgain = new ArrayList<>();
        for (String cell : Cluster.cells(tag, questions)) {
            if (storedByOwner.contains(cell)) {
                assertThat(requests.get(cell)).as("a cell stored before the kill is never asked again: %s", cell).isEqualTo(1);
            } else {
                assertThat(requests.get(cell)).as("requests for %s", cell).isBetween(1, 2);
                if (requests.get(cell) == 2) {
                    askedAgain.add(cell);
                }
            }
        }
        // Only the cells in flight at the kill run again: all of one question, the one running then.
        assertThat(askedAgain.stream().map(c -> c.substring(c.indexOf('|') + 1)).distinct().count()).as("asked again: %s", askedAgain)
                .isLessThanOrEqualTo(1);
        assertThat(cluster.provider.overlaps()).isEmpty();
    }

    /** The instance that ran {@code job.started} of the job, once it has. */
    private static String awaitRunner(String id, Duration timeout) {
        String[] runner = new String[1];
        await(() -> {
            var rows = cluster.rows("SELECT data->>'runner' AS runner FROM job_events WHERE job_id = :id AND type = 'job.started'",
                    Map.of("id", UUID.fromString(id)));
            runner[0] = rows.isEmpty() ? null : (String) rows.get(0).get("runner");
            return runner[0] != null;
        }, timeout, "job.started");
        return runner[0];
    }

    private static void await(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
        try {
            org.awaitility.Awaitility.await(what).atMost(timeout).pollInterval(Duration.ofMillis(20)).until(condition::getAsBoolean);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("no " + what + " within " + timeout + cluster.logs(), e);
        }
    }
}
