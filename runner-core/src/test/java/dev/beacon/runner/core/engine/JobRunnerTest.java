package dev.beacon.runner.core.engine;

import static dev.beacon.runner.core.engine.EngineFixture.limits;
import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.provider.InferenceFailure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

class JobRunnerTest {

    private static final Duration TWO_MINUTES = Duration.ofMinutes(2);
    private static final Duration HOUR = Duration.ofHours(1);

    /** Latency by region: asia is the slowest, so each question takes 300 ms on the critical path. */
    private static ScriptedClient.Step byRegion(String region) {
        return ScriptedClient.Step.answer(switch (region) {
            case "us" -> 100;
            case "eu" -> 200;
            default -> 300;
        });
    }

    @Test
    void referenceJobRunsQuestionsStrictlyOneAfterAnotherAndTakesTheCriticalPath() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> byRegion(req.region()));
        ExecutionPlan plan = f.plan(8, limits(10, TWO_MINUTES, HOUR, 3));

        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(10));
        assertThat(finished(events).status()).isEqualTo(JobStatus.SUCCEEDED);

        // The ideal wall time is 8 × 300 ms: the job finished exactly on the critical path.
        assertThat(finishedAtMillis(events)).isEqualTo(2400);
        assertThat(f.journal.executions(plan.jobId()).collectList().block())
                .hasSize(64).allMatch(r -> r.status() == ExecutionStatus.SUCCEEDED && r.attempts() == 1 && r.receipt() != null);
        // Calls are recorded in start order: every call of question k starts before any of question k+1,
        // and question k+1 starts only once question k's slowest endpoint answered.
        List<ScriptedClient.Call> calls = new ArrayList<>(f.allCalls());
        calls.sort(java.util.Comparator.comparingLong(ScriptedClient.Call::startedAt));
        for (int q = 0; q < 8; q++) {
            String prompt = "question number " + q;
            long expectedStart = q * 300L;
            assertThat(calls.stream().filter(c -> c.prompt().equals(prompt)).map(ScriptedClient.Call::startedAt))
                    .as("question %d", q).hasSize(8).containsOnly(expectedStart);
        }
        assertThat(f.peak.get()).isEqualTo(8);
    }

    @Test
    void nothingIsEmittedWhileTheSlowestEndpointOfAQuestionIsStillAnswering() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> byRegion(req.region()));
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 3));

        StepVerifier.withVirtualTime(() -> f.runner.run(JobRun.fresh(plan)), () -> f.scheduler, Long.MAX_VALUE)
                .expectNextMatches(e -> e.type().equals("job.started"))
                .expectNextMatches(e -> e.type().equals("question.started"))
                .expectNoEvent(Duration.ofMillis(99))
                .thenAwait(Duration.ofMillis(1))
                .expectNextCount(2) // the two us endpoints
                .expectNoEvent(Duration.ofMillis(99))
                .thenAwait(Duration.ofMillis(1))
                .expectNextCount(3) // eu
                .thenAwait(Duration.ofMillis(100))
                .expectNextCount(3) // asia
                .expectNextMatches(e -> e.type().equals("question.finished"))
                .expectNextMatches(e -> e.isTerminal())
                .verifyComplete();
    }

    @Test
    void eventsArriveInOrderWithGapFreeSequenceNumbers() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> byRegion(req.region()));
        ExecutionPlan plan = f.plan(3, limits(10, TWO_MINUTES, HOUR, 3));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(5));

        assertThat(events).extracting(StoredEvent::seq).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, events.size()).boxed().toList());
        List<String> types = events.stream().map(StoredEvent::type).toList();
        List<String> expected = new ArrayList<>();
        expected.add("job.started");
        for (int q = 0; q < 3; q++) {
            expected.add("question.started");
            for (int i = 0; i < 8; i++) {
                expected.add("execution.finished");
            }
            expected.add("question.finished");
        }
        expected.add("job.finished");
        assertThat(types).containsExactlyElementsOf(expected);
        JobEvent.QuestionFinished q1 = (JobEvent.QuestionFinished) events.get(20).event();
        assertThat(q1.index()).isEqualTo(1);
        assertThat(q1.counts().succeeded()).isEqualTo(8);
    }

    /**
     * A question's boundary events are appended together, and answers that come while they are still
     * being stored wait for them and are then stored together (one {@code appendAll}, one group for a
     * store that groups); the log keeps its order: question.started, its executions, question.finished.
     */
    @Test
    void resultsThatCameWhileTheirQuestionWasBeingStartedAreStoredTogetherInOrder() {
        List<List<JobEvent>> together = new CopyOnWriteArrayList<>();
        InMemoryJobJournal memory = new InMemoryJobJournal(java.time.Clock.systemUTC());
        AtomicReference<reactor.core.scheduler.Scheduler> time = new AtomicReference<>();
        JobJournal slowToStart = new JobJournal() {
            @Override
            public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
                Mono<StoredEvent> stored = memory.append(jobId, event);
                // question.started takes 50 ms to store; every answer comes after 10 ms
                return event instanceof JobEvent.QuestionStarted ? Mono.delay(Duration.ofMillis(50), time.get()).then(stored) : stored;
            }

            @Override
            public Mono<List<java.util.Optional<StoredEvent>>> appendAll(JobId jobId, List<JobEvent> events) {
                together.add(events);
                return JobJournal.super.appendAll(jobId, events);
            }

            @Override
            public reactor.core.publisher.Flux<ExecutionResult> executions(JobId jobId) {
                return memory.executions(jobId);
            }
        };
        EngineFixture f = new EngineFixture(1, 10, (provider, req, attempt) -> ScriptedClient.Step.answer(10), RetryPolicy.DEFAULT,
                builder -> builder.journal(slowToStart));
        time.set(f.scheduler);
        ExecutionPlan plan = f.plan(3, limits(10, TWO_MINUTES, HOUR, 3));

        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(5));

        // Per question: its boundary (question.finished of the one before and its question.started), then all its results.
        assertThat(together).extracting(group -> group.stream().map(JobEvent::type).distinct().toList() + " x" + group.size())
                .containsExactly("[question.started] x1", "[execution.finished] x8",
                        "[question.finished, question.started] x2", "[execution.finished] x8",
                        "[question.finished, question.started] x2", "[execution.finished] x8");
        assertThat(events).extracting(StoredEvent::seq).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, events.size()).boxed().toList());
        List<String> expected = new ArrayList<>(List.of("job.started"));
        for (int q = 0; q < 3; q++) {
            expected.add("question.started");
            expected.addAll(java.util.Collections.nCopies(8, "execution.finished"));
            expected.add("question.finished");
        }
        expected.add("job.finished");
        assertThat(events.stream().map(StoredEvent::type).toList()).containsExactlyElementsOf(expected);
        assertThat(memory.executions(plan.jobId()).collectList().block()).hasSize(24);
    }

    @Test
    void concurrencyLimitBoundsCellsInFlightWithinAQuestion() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(4, limits(3, TWO_MINUTES, HOUR, 3));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(10));

        assertThat(f.peak.get()).isEqualTo(3);
        assertThat(finished(events).status()).isEqualTo(JobStatus.SUCCEEDED);
        // 8 cells, 3 at a time: 3 waves of 100 ms per question.
        assertThat(finishedAtMillis(events)).isEqualTo(4 * 300);
    }

    @Test
    void slowEndpointTimesOutWithoutFailingTheJob() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) ->
                req.model().equals("mistral-7b") && req.region().equals("asia") ? ScriptedClient.Step.answer(600_000) : byRegion(req.region()));
        ExecutionPlan plan = f.plan(2, limits(10, Duration.ofMinutes(1), HOUR, 3));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofMinutes(5));

        List<ExecutionResult> rows = rows(f, plan);
        assertThat(rows).hasSize(16);
        assertThat(rows.stream().filter(r -> r.status() == ExecutionStatus.TIMED_OUT))
                .hasSize(2)
                .allMatch(r -> r.cell().endpoint().toString().equals("mistral-7b@asia") && r.error().code().equals(ExecutionError.TIMEOUT));
        // 14 of 16 succeeded: 0.875 >= 0.67.
        assertThat(finished(events).status()).isEqualTo(JobStatus.PARTIAL);
        // Each question waited exactly the execution timeout for its slow cell.
        assertThat(finishedAtMillis(events)).isEqualTo(2 * 60_000);
    }

    @Test
    void transientFailuresAreRetriedWithExponentialBackoff() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> req.region().equals("us") && attempt < 3
                ? ScriptedClient.Step.fail(100, InferenceFailure.forStatus(503, "busy", null))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 3));
        f.runToEnd(plan, Duration.ofSeconds(10));

        List<Long> starts = f.clients.get("llama3.2-1b-us-0").calls.stream().map(ScriptedClient.Call::startedAt).toList();
        // fails at 100, waits 500 → 600; fails at 700, waits 1000 → 1700.
        assertThat(starts).containsExactly(0L, 600L, 1700L);
        ExecutionResult us = rows(f, plan).stream().filter(r -> r.cell().endpoint().toString().equals("llama3.2-1b@us")).findFirst().orElseThrow();
        assertThat(us.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(us.attempts()).isEqualTo(3);
        assertThat(us.latencyMs()).isEqualTo(1800);
    }

    @Test
    void retryAfterFromTheProviderIsHonoured() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> req.region().equals("eu") && attempt == 1
                ? ScriptedClient.Step.fail(100, InferenceFailure.forStatus(429, "slow down", Duration.ofSeconds(7)))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 3));
        f.runToEnd(plan, Duration.ofSeconds(30));

        assertThat(f.clients.get("mistral-7b-eu-0").calls).extracting(ScriptedClient.Call::startedAt).containsExactly(0L, 7100L);
    }

    @Test
    void permanentFailuresAreNotRetried() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> req.region().equals("asia")
                ? ScriptedClient.Step.fail(50, InferenceFailure.forStatus(400, "bad request", null))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 3));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(10));

        List<ExecutionResult> failed = rows(f, plan).stream().filter(r -> r.status() == ExecutionStatus.FAILED).toList();
        assertThat(failed).hasSize(3).allMatch(r -> r.attempts() == 1 && r.error().code().equals("HTTP_400"));
        // 5 of 8 = 0.625 < 0.67.
        assertThat(finished(events).status()).isEqualTo(JobStatus.FAILED);
    }

    @Test
    void noRetryIsScheduledPastTheExecutionTimeout() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> req.region().equals("us")
                ? ScriptedClient.Step.fail(100, InferenceFailure.forStatus(503, "busy", Duration.ofSeconds(50)))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(1, limits(10, Duration.ofSeconds(20), HOUR, 3));
        f.runToEnd(plan, Duration.ofSeconds(60));

        ExecutionResult us = rows(f, plan).stream().filter(r -> r.cell().endpoint().region().equals("us")).findFirst().orElseThrow();
        assertThat(us.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(us.error().code()).isEqualTo("HTTP_503");
        assertThat(us.attempts()).isEqualTo(1);
        assertThat(us.completedAt().toEpochMilli()).isEqualTo(100);
    }

    @Test
    void jobDeadlineShortensExecutionTimeoutsAndTimesOutTheRest() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) ->
                req.region().equals("asia") ? ScriptedClient.Step.answer(600_000) : byRegion(req.region()));
        ExecutionPlan plan = f.plan(3, limits(10, Duration.ofMinutes(2), Duration.ofSeconds(45), 1));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofMinutes(10));

        assertThat(finished(events).status()).isEqualTo(JobStatus.TIMED_OUT);
        List<ExecutionResult> rows = rows(f, plan);
        assertThat(rows).hasSize(24);
        Map<ExecutionStatus, Long> byStatus = rows.stream().collect(Collectors.groupingBy(ExecutionResult::status, Collectors.counting()));
        // Question 0: asia hits the provider's 30 s attempt timeout. Question 1 starts at 30 s; its asia
        // cells are cut at the 45 s job deadline, and question 2 never starts.
        assertThat(byStatus).containsEntry(ExecutionStatus.SUCCEEDED, 10L).containsEntry(ExecutionStatus.TIMED_OUT, 14L);
        assertThat(finishedAtMillis(events)).isEqualTo(45_000);
        assertThat(f.allCalls()).noneMatch(c -> c.prompt().equals("question number 2"));
        assertThat(f.allCancelled().stream().filter(c -> c.prompt().equals("question number 1")))
                .hasSize(3).allMatch(c -> c.region().equals("asia"));
        assertThat(finished(events).counts().timedOut()).isEqualTo(14);
    }

    @Test
    void cancellingStopsInFlightCallsAndStoresEveryUnfinishedCellCancelled() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(1_000));
        ExecutionPlan plan = f.plan(8, limits(10, TWO_MINUTES, HOUR, 3));
        Sinks.One<Boolean> cancel = Sinks.one();
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        f.runner.run(new JobRun(plan, List.of(), null, cancel.asMono())).subscribe(events::add);

        f.scheduler.advanceTimeBy(Duration.ofMillis(1_500)); // question 0 done, question 1 in flight
        cancel.tryEmitValue(true);
        f.scheduler.advanceTimeBy(Duration.ofMinutes(5));

        assertThat(finished(events).status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(f.allCancelled()).hasSize(8).allMatch(c -> c.prompt().equals("question number 1"));
        assertThat(f.inFlight.get()).isZero();
        assertThat(f.allCalls()).hasSize(16);
        List<ExecutionResult> rows = rows(f, plan);
        assertThat(rows).hasSize(64);
        assertThat(rows.stream().filter(r -> r.status() == ExecutionStatus.SUCCEEDED)).hasSize(8);
        List<ExecutionResult> cancelled = rows.stream().filter(r -> r.status() == ExecutionStatus.CANCELLED).toList();
        assertThat(cancelled).hasSize(56).allMatch(r -> r.error().code().equals(ExecutionError.CANCELLED));
        // The cells that were in flight keep their attempt and start time.
        assertThat(cancelled.stream().filter(r -> r.attempts() == 1))
                .hasSize(8).allMatch(r -> r.startedAt().toEpochMilli() == 1_000 && r.cell().questionId().equals("q1"));
        assertThat(finished(events).counts().cancelled()).isEqualTo(56);
    }

    @Test
    void disposingTheRunCancelsItsInFlightCallsAndStoresNothingMore() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(1_000));
        ExecutionPlan plan = f.plan(8, limits(10, TWO_MINUTES, HOUR, 3));
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        AtomicBoolean terminated = new AtomicBoolean();
        Disposable run = f.runner.run(JobRun.fresh(plan)).subscribe(events::add, e -> terminated.set(true), () -> terminated.set(true));

        f.scheduler.advanceTimeBy(Duration.ofMillis(1_500)); // question 0 done, question 1 in flight
        assertThat(f.inFlight.get()).isEqualTo(8);
        List<StoredEvent> storedBefore = f.journal.events(plan.jobId());
        run.dispose(); // shutdown, or a lost lease

        // Each of the eight calls in flight saw the cancel, at the provider client.
        assertThat(f.allCancelled()).hasSize(8).allMatch(c -> c.prompt().equals("question number 1"));
        assertThat(f.inFlight.get()).isZero();
        f.scheduler.advanceTimeBy(Duration.ofMinutes(5));
        // Nothing more happens: no call, no row, no event; the job stays resumable, not finished.
        assertThat(f.allCalls()).hasSize(16);
        assertThat(rows(f, plan)).hasSize(8);
        assertThat(f.journal.events(plan.jobId())).isEqualTo(storedBefore);
        assertThat(events).noneMatch(StoredEvent::isTerminal);
        assertThat(terminated).as("a disposed run emits no completion or error").isFalse();
    }

    @Test
    void resumedJobRunsOnlyTheCellsWithoutARow() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(3, limits(10, TWO_MINUTES, HOUR, 3));
        // An earlier owner stored question 0 and half of question 1, then died.
        List<ExecutionResult> stored = new ArrayList<>();
        var cells = plan.questions().get(0).cells();
        var halfOfQ1 = plan.questions().get(1).cells().subList(0, 4);
        for (var cell : concat(cells, halfOfQ1)) {
            ExecutionResult r = new ExecutionResult(cell, "earlier", ExecutionStatus.SUCCEEDED, 1, java.time.Instant.EPOCH,
                    java.time.Instant.EPOCH, 5L, new dev.beacon.runner.core.domain.InferenceOutput("old", "stop", null), null, null);
            f.journal.append(plan.jobId(), new JobEvent.ExecutionFinished(r)).block();
            stored.add(r);
        }
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        f.runner.run(new JobRun(plan, stored, null, null)).subscribe(events::add);
        f.scheduler.advanceTimeBy(Duration.ofSeconds(10));

        assertThat(f.allCalls()).hasSize(12).noneMatch(c -> c.prompt().equals("question number 0"));
        assertThat(rows(f, plan)).hasSize(24);
        assertThat(finished(events).status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(finished(events).counts().succeeded()).isEqualTo(24);
        assertThat(events).noneMatch(e -> e.event() instanceof JobEvent.QuestionStarted qs && qs.index() == 0);
    }

    @Test
    void resumingAfterAQuestionWasStoredButNotMarkedFinishedStoresItsQuestionFinishedOnce() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(3, limits(10, TWO_MINUTES, HOUR, 3));
        // The earlier owner stored every cell of questions 0 and 1, and question.finished of 0 only: it
        // appends question k's at the start of question k+1, and stopped in between.
        List<ExecutionResult> stored = new ArrayList<>();
        for (int q = 0; q < 2; q++) {
            for (var cell : plan.questions().get(q).cells()) {
                ExecutionResult r = new ExecutionResult(cell, "earlier", ExecutionStatus.SUCCEEDED, 1, java.time.Instant.EPOCH,
                        java.time.Instant.EPOCH, 5L, new dev.beacon.runner.core.domain.InferenceOutput("old", "stop", null), null, null);
                f.journal.append(plan.jobId(), new JobEvent.ExecutionFinished(r)).block();
                stored.add(r);
            }
            if (q == 0) {
                f.journal.append(plan.jobId(), new JobEvent.QuestionFinished("q0", 0,
                        new dev.beacon.runner.core.domain.ExecutionCounts(8, 0, 0, 0, 0))).block();
            }
        }
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        f.runner.run(new JobRun(plan, stored, null, null, java.util.Set.of(0))).subscribe(events::add);
        f.scheduler.advanceTimeBy(Duration.ofSeconds(10));

        assertThat(finished(events).status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(f.allCalls()).hasSize(8).allMatch(c -> c.prompt().equals("question number 2"));
        // Each question's question.finished exactly once in the whole log, question 1's with its counts.
        Map<Integer, Long> finishedPerQuestion = f.journal.events(plan.jobId()).stream()
                .filter(e -> e.event() instanceof JobEvent.QuestionFinished)
                .collect(Collectors.groupingBy(e -> ((JobEvent.QuestionFinished) e.event()).index(), Collectors.counting()));
        assertThat(finishedPerQuestion).containsExactlyInAnyOrderEntriesOf(Map.of(0, 1L, 1, 1L, 2, 1L));
        JobEvent.QuestionFinished q1 = events.stream().map(StoredEvent::event).filter(e -> e instanceof JobEvent.QuestionFinished)
                .map(e -> (JobEvent.QuestionFinished) e).filter(e -> e.index() == 1).findFirst().orElseThrow();
        assertThat(q1.counts().succeeded()).isEqualTo(8);
        // It comes right after the resumed run's job.started, before question 2 begins.
        assertThat(events).extracting(StoredEvent::type).startsWith("job.started", "question.finished", "question.started");
    }

    @Test
    void failingProviderFallsBackToTheNextProviderOfTheSameEndpoint() {
        EngineFixture f = new EngineFixture(2, 10, (provider, req, attempt) -> provider.endsWith("-0")
                ? ScriptedClient.Step.fail(10, InferenceFailure.forStatus(500, "down", null))
                : ScriptedClient.Step.answer(100), RetryPolicy.DEFAULT);
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 2));
        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(10));

        assertThat(finished(events).status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(rows(f, plan)).allMatch(r -> r.providerId().endsWith("-1") && r.attempts() == 3)
                // the answer comes from the same model in the same region
                .allMatch(r -> r.providerId().startsWith(r.cell().endpoint().model() + "-" + r.cell().endpoint().region()));
    }

    @Test
    void circuitOpensAfterRepeatedFailuresAndLaterCellsFailFast() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> req.region().equals("eu")
                ? ScriptedClient.Step.fail(1_000, InferenceFailure.forStatus(502, "bad gateway", null))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(15, limits(10, TWO_MINUTES, HOUR, 1));
        f.runToEnd(plan, Duration.ofMinutes(5));

        List<ExecutionResult> eu = rows(f, plan).stream().filter(r -> r.cell().endpoint().toString().equals("llama3.2-1b@eu")).toList();
        assertThat(eu).hasSize(15).allMatch(r -> r.status() == ExecutionStatus.FAILED);
        assertThat(eu.stream().filter(r -> r.error().code().equals(ExecutionError.CIRCUIT_OPEN))).hasSize(5);
        assertThat(f.clients.get("llama3.2-1b-eu-0").calls).hasSize(10);
        assertThat(f.runner.endpointStatuses().stream().filter(s -> s.id().toString().equals("llama3.2-1b@eu")).findFirst().orElseThrow()
                .circuitState()).isEqualTo("OPEN");
    }

    @Test
    void providerMaxConcurrencyIsSharedByAllJobsAndQueuesInsteadOfFailing() {
        EngineFixture f = new EngineFixture(1, 1, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan a = f.plan(2, limits(10, TWO_MINUTES, HOUR, 1));
        ExecutionPlan b = f.plan(2, limits(10, TWO_MINUTES, HOUR, 1));
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        f.runner.run(JobRun.fresh(a)).subscribe(events::add);
        f.runner.run(JobRun.fresh(b)).subscribe(events::add);
        f.scheduler.advanceTimeBy(Duration.ofSeconds(10));

        // 8 providers with max-concurrency 1: never more than 8 calls at once, though 16 cells were ready.
        assertThat(f.peak.get()).isEqualTo(8);
        assertThat(events.stream().filter(StoredEvent::isTerminal))
                .hasSize(2).allMatch(e -> ((JobEvent.JobFinished) e.event()).status() == JobStatus.SUCCEEDED);
        assertThat(finishedAtMillis(events)).isEqualTo(400);
    }

    @Test
    void receiptsVerifyForTheirCellOnly() {
        ReceiptSigner signer = ReceiptSigner.ephemeral();
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(10));
        ExecutionPlan plan = f.plan(1, limits(10, TWO_MINUTES, HOUR, 1));
        f.runToEnd(plan, Duration.ofSeconds(1));
        ExecutionResult r = rows(f, plan).get(0);
        assertThat(r.receipt().requestSha256()).hasSize(64);
        assertThat(r.receipt().outputSha256()).hasSize(64);
        // A signer with another key does not accept it.
        assertThat(signer.verify(plan.jobId(), r.cell(), r.providerId(), r.receipt())).isFalse();
    }

    /**
     * Runs the job in virtual time for {@code enough} and returns its events; fails unless the run
     * completed (a disposed subscription would also be one that errored).
     */
    @Test
    void theDefaultCircuitBreakerRecordsOutcomesWithoutALock() {
        // Outcomes are recorded on the event loop that got the answer; a synchronized window would make
        // two answers of one provider arriving at once on two event loops wait for each other there.
        assertThat(JobRunner.Builder.defaultCircuitBreaker().getSlidingWindowSynchronizationStrategy())
                .isEqualTo(io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowSynchronizationStrategy.LOCK_FREE);
    }

    private static long finishedAtMillis(List<StoredEvent> events) {
        // the last job to finish, when several ran
        return events.stream().filter(StoredEvent::isTerminal).mapToLong(e -> e.createdAt().toEpochMilli()).max().orElseThrow();
    }

    private static JobEvent.JobFinished finished(List<StoredEvent> events) {
        return events.stream().filter(StoredEvent::isTerminal).map(e -> (JobEvent.JobFinished) e.event()).findFirst()
                .orElseThrow(() -> new AssertionError("no job.finished in " + events.stream().map(StoredEvent::type).toList()));
    }

    private static List<ExecutionResult> rows(EngineFixture f, ExecutionPlan plan) {
        return f.journal.executions(plan.jobId()).collectList().block();
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> r = new ArrayList<>(a);
        r.addAll(b);
        return r;
    }
}
