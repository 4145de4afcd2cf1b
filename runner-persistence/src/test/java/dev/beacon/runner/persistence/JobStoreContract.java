package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.engine.JobJournal;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.CancelOutcome;
import dev.beacon.runner.core.store.ClaimedJob;
import dev.beacon.runner.core.store.IdempotencyConflictException;
import dev.beacon.runner.core.store.JobLease;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.NewJob;
import dev.beacon.runner.core.store.OwnershipLostException;
import dev.beacon.runner.core.store.Submission;
import dev.beacon.runner.persistence.testing.Jobs;
import dev.beacon.runner.persistence.testing.MutableClock;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The behaviour every {@link R2dbcJobStore} must show, run against each database by a subclass.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JobStoreContract {

    static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    static final Duration WAIT = Duration.ofSeconds(60);

    Database database;
    MutableClock clock;
    LocalJobSignals signals;
    R2dbcJobStore store;

    abstract Database createDatabase();

    @BeforeAll
    void startDatabase() {
        database = createDatabase();
    }

    @AfterAll
    void stopDatabase() {
        database.close();
    }

    @BeforeEach
    void freshStore() {
        String prefix = database.schema() == null ? "" : database.schema() + ".";
        DatabaseClient db = DatabaseClient.create(database.connectionFactory());
        for (String table : List.of("job_events", "executions", "jobs")) {
            db.sql("DELETE FROM " + prefix + table).then().block(WAIT);
        }
        clock = new MutableClock(T0);
        signals = new LocalJobSignals();
        store = R2dbcJobStore.builder(database.connectionFactory())
                .clock(clock).leaseClock(clock).signals(signals).schema(database.schema()).build();
    }

    JobRecord submit(JobSpec spec) {
        clock.advance(Duration.ofSeconds(1));
        return store.submit(Jobs.newJob(spec, null, clock.instant())).block(WAIT).job();
    }

    StoredEvent finish(JobId id, Cell cell) {
        return store.append(id, new JobEvent.ExecutionFinished(Jobs.succeeded(cell, clock.instant()))).block(WAIT);
    }

    List<StoredEvent> events(JobId id) {
        return store.events(id, 0).collectList().block(WAIT);
    }

    // ------------------------------------------------------------------ submit, find, list

    @Test
    void submittedJobIsQueuedWithAllCellsPendingAndAJobQueuedEvent() {
        JobSpec spec = Jobs.spec("first", 3, 4);
        NewJob job = Jobs.newJob(spec, null, T0);

        Submission submission = store.submit(job).block(WAIT);

        assertThat(submission.created()).isTrue();
        JobRecord found = store.find(job.id()).block(WAIT);
        assertThat(found).isEqualTo(submission.job());
        assertThat(found.status()).isEqualTo(JobStatus.QUEUED);
        assertThat(found.spec()).isEqualTo(spec);
        assertThat(found.counts()).isEqualTo(ExecutionCounts.allPending(12));
        assertThat(found.createdAt()).isEqualTo(T0);
        assertThat(events(job.id())).singleElement()
                .satisfies(e -> assertThat(e.event()).isEqualTo(new JobEvent.JobQueued(12)))
                .satisfies(e -> assertThat(e.seq()).isEqualTo(1));
    }

    @Test
    void unknownJobIsNotFound() {
        StepVerifier.create(store.find(JobId.random())).expectComplete().verify(WAIT);
        StepVerifier.create(store.requestCancel(JobId.random())).expectNext(CancelOutcome.NOT_FOUND).expectComplete().verify(WAIT);
    }

    @Test
    void listIsNewestFirstFilteredByStatusAndPagedByKeyset() {
        List<JobId> ids = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            ids.add(submit(Jobs.spec("job-" + i, 1, 1)).id());
        }
        store.requestCancel(ids.get(2)).block(WAIT);
        store.requestCancel(ids.get(5)).block(WAIT);
        List<JobId> newestFirst = new ArrayList<>(ids);
        java.util.Collections.reverse(newestFirst);

        List<JobId> page1 = store.list(new JobQuery(null, 3, null)).map(JobRecord::id).collectList().block(WAIT);
        List<JobId> page2 = store.list(new JobQuery(null, 3, page1.get(2))).map(JobRecord::id).collectList().block(WAIT);
        List<JobId> page3 = store.list(new JobQuery(null, 3, page2.get(2))).map(JobRecord::id).collectList().block(WAIT);
        List<JobId> cancelled = store.list(new JobQuery(JobStatus.CANCELLED, 10, null)).map(JobRecord::id).collectList().block(WAIT);

        assertThat(page1).containsExactlyElementsOf(newestFirst.subList(0, 3));
        assertThat(page2).containsExactlyElementsOf(newestFirst.subList(3, 6));
        assertThat(page3).containsExactlyElementsOf(newestFirst.subList(6, 7));
        assertThat(cancelled).containsExactly(ids.get(5), ids.get(2));
    }

    @Test
    void sameKeyAndSameSpecReturnsTheExistingJobWithoutStoringAnything() {
        JobSpec spec = Jobs.spec("idem", 2, 2);
        Submission first = store.submit(Jobs.newJob(spec, "key-1", T0)).block(WAIT);
        Submission again = store.submit(Jobs.newJob(Jobs.spec("idem", 2, 2), "key-1", T0.plusSeconds(5))).block(WAIT);

        assertThat(again.created()).isFalse();
        assertThat(again.job().id()).isEqualTo(first.job().id());
        assertThat(store.list(new JobQuery(null, 10, null)).count().block(WAIT)).isEqualTo(1);
        assertThat(events(first.job().id())).hasSize(1);
    }

    @Test
    void sameKeyWithADifferentSpecIsAConflictNamingTheExistingJob() {
        Submission first = store.submit(Jobs.newJob(Jobs.spec("idem", 2, 2), "key-2", T0)).block(WAIT);

        StepVerifier.create(store.submit(Jobs.newJob(Jobs.spec("idem", 3, 2), "key-2", T0)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IdempotencyConflictException.class)
                        .extracting(x -> ((IdempotencyConflictException) x).existing()).isEqualTo(first.job().id()))
                .verify(WAIT);
    }

    @Test
    void concurrentSubmitsWithTheSameKeyCreateOneJob() {
        JobSpec spec = Jobs.spec("race", 2, 2);
        List<Submission> results = Flux.range(0, 12)
                .flatMap(i -> store.submit(Jobs.newJob(spec, "race-key", T0)).subscribeOn(Schedulers.parallel()), 12)
                .collectList().block(WAIT);

        assertThat(results).hasSize(12);
        assertThat(results).filteredOn(Submission::created).hasSize(1);
        assertThat(results).extracting(s -> s.job().id()).containsOnly(results.get(0).job().id());
        assertThat(store.list(new JobQuery(null, 10, null)).count().block(WAIT)).isEqualTo(1);
    }

    // ------------------------------------------------------------------ append

    @Test
    void secondAppendOfTheSameCellEmitsNothingAndStoresOneRow() {
        JobRecord job = submit(Jobs.spec("dup", 1, 2));
        Cell cell = CellLayout.cells(job.spec()).get(0);

        StoredEvent first = finish(job.id(), cell);
        StepVerifier.create(store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cell, clock.instant()))))
                .expectComplete().verify(WAIT);

        assertThat(first.seq()).isEqualTo(2);
        assertThat(store.executions(job.id()).collectList().block(WAIT)).singleElement()
                .satisfies(r -> assertThat(r).isEqualTo(((JobEvent.ExecutionFinished) first.event()).result()));
        assertThat(events(job.id())).extracting(StoredEvent::seq).containsExactly(1L, 2L);
        assertThat(store.find(job.id()).block(WAIT).counts()).isEqualTo(new ExecutionCounts(1, 0, 0, 0, 1));
    }

    @Test
    void concurrentAppendsGetSequenceNumbersWithoutGaps() {
        JobRecord job = submit(Jobs.spec("seq", 20, 5)); // 100 cells
        List<JobEvent> appends = new ArrayList<>();
        for (Cell cell : CellLayout.cells(job.spec())) {
            appends.add(new JobEvent.ExecutionFinished(Jobs.succeeded(cell, clock.instant())));
            appends.add(new JobEvent.QuestionStarted(cell.questionId(), 0, 20));
        }

        List<StoredEvent> stored = Flux.fromIterable(appends)
                .flatMap(e -> store.append(job.id(), e), 32)
                .collectList().block(WAIT);

        assertThat(stored).hasSize(200);
        assertThat(stored).extracting(StoredEvent::seq).doesNotHaveDuplicates();
        assertThat(events(job.id())).extracting(StoredEvent::seq)
                .containsExactlyElementsOf(LongStream.rangeClosed(1, 201).boxed().toList());
        assertThat(store.executions(job.id()).count().block(WAIT)).isEqualTo(100);
    }

    @Test
    void eventsAfterASeqAreThoseThatFollowInOrder() {
        JobRecord job = submit(Jobs.spec("replay", 1, 3));
        store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        store.append(job.id(), new JobEvent.QuestionStarted("q0", 0, 1)).block(WAIT);
        CellLayout.cells(job.spec()).forEach(c -> finish(job.id(), c));

        List<StoredEvent> after2 = store.events(job.id(), 2).collectList().block(WAIT);

        assertThat(after2).extracting(StoredEvent::seq).containsExactly(3L, 4L, 5L, 6L);
        assertThat(after2.get(0).event()).isEqualTo(new JobEvent.QuestionStarted("q0", 0, 1));
        assertThat(after2.get(1).event()).isInstanceOf(JobEvent.ExecutionFinished.class);
        JobRecord running = store.find(job.id()).block(WAIT);
        assertThat(running.status()).isEqualTo(JobStatus.RUNNING);
        assertThat(running.startedAt()).isEqualTo(clock.instant());
        assertThat(running.currentQuestion()).isEqualTo(0);
    }

    @Test
    void jobFinishedIsCompareAndSetAndCarriesTheCountsOfTheStoredRows() {
        JobRecord job = submit(Jobs.spec("finish", 2, 2));
        store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        List<Cell> cells = CellLayout.cells(job.spec());
        finish(job.id(), cells.get(0));
        store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cells.get(1), clock.instant()))).block(WAIT);

        // the engine's own counts are replaced by those of the rows
        StoredEvent finished = store.append(job.id(),
                new JobEvent.JobFinished(JobStatus.FAILED, ExecutionCounts.EMPTY)).block(WAIT);

        assertThat(finished.event()).isEqualTo(new JobEvent.JobFinished(JobStatus.FAILED, new ExecutionCounts(1, 1, 0, 0, 2)));
        StepVerifier.create(store.append(job.id(), new JobEvent.JobFinished(JobStatus.SUCCEEDED, ExecutionCounts.EMPTY)))
                .expectComplete().verify(WAIT);
        StepVerifier.create(store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(2), clock.instant()))))
                .expectComplete().verify(WAIT);
        JobRecord done = store.find(job.id()).block(WAIT);
        assertThat(done.status()).isEqualTo(JobStatus.FAILED);
        assertThat(done.finishedAt()).isNotNull();
        assertThat(done.owner()).isNull();
        assertThat(events(job.id())).last().satisfies(e -> assertThat(e.isTerminal()).isTrue());
        assertThat(store.executions(job.id()).count().block(WAIT)).isEqualTo(2);
    }

    @Test
    void appendsPublishEventsAppendedAfterCommitCarryingTheStoredEvents() {
        JobRecord job = submit(Jobs.spec("signal", 1, 2));
        List<Cell> cells = CellLayout.cells(job.spec());
        List<Signal> seen = new CopyOnWriteArrayList<>();
        Disposable subscription = signals.signals().subscribe(seen::add);
        try {
            StoredEvent started = store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
            StoredEvent succeeded = finish(job.id(), cells.get(0));
            StoredEvent failed = store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cells.get(1), clock.instant()))).block(WAIT);
            // What the signals carry is what a read of the log gives: the event feeds pass them on as read.
            assertThat(events(job.id())).endsWith(started, succeeded, failed);
            org.awaitility.Awaitility.await().atMost(WAIT).untilAsserted(() -> assertThat(seen).contains(
                    new Signal.EventsAppended(job.id(), 2, List.of(started)), new Signal.EventsAppended(job.id(), 3, List.of(succeeded)),
                    new Signal.EventsAppended(job.id(), 4, List.of(failed))));
        } finally {
            subscription.dispose();
        }
    }

    @Test
    void orderedExecutionsFollowQuestionThenEndpointOrder() {
        JobRecord job = submit(Jobs.spec("order", 3, 3));
        List<Cell> cells = CellLayout.cells(job.spec());
        List<Cell> shuffled = new ArrayList<>(cells);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        Flux.fromIterable(shuffled).concatMap(c -> store.append(job.id(),
                new JobEvent.ExecutionFinished(Jobs.succeeded(c, clock.instant())))).blockLast(WAIT);

        assertThat(store.orderedExecutions(job.id()).map(ExecutionResult::cell).collectList().block(WAIT))
                .containsExactlyElementsOf(cells);
    }

    @Test
    void whatTheProviderSaidAboutItselfIsStoredWithTheAnswer() {
        JobRecord job = submit(Jobs.spec("provenance", 1, 1));
        Cell cell = CellLayout.cells(job.spec()).get(0);
        ExecutionResult plain = Jobs.succeeded(cell, clock.instant());
        var provenance = new dev.beacon.runner.core.domain.Provenance("mistral-7b-instruct-v0.3", "fp_44709d6fcb", "chatcmpl-9",
                Map.of("x-request-id", "req-1"));
        ExecutionResult reported = new ExecutionResult(cell, plain.providerId(), plain.status(), plain.attempts(), plain.startedAt(),
                plain.completedAt(), plain.latencyMs(), new dev.beacon.runner.core.domain.InferenceOutput(plain.output().text(),
                        plain.output().finishReason(), plain.output().usage(), provenance), null, plain.receipt());

        store.append(job.id(), new JobEvent.ExecutionFinished(reported)).block(WAIT);

        assertThat(store.executions(job.id()).collectList().block(WAIT)).singleElement()
                .satisfies(r -> assertThat(r.output().provenance()).isEqualTo(provenance));
        assertThat(events(job.id())).filteredOn(e -> e.event() instanceof JobEvent.ExecutionFinished).singleElement()
                .satisfies(e -> assertThat(((JobEvent.ExecutionFinished) e.event()).result().output().provenance()).isEqualTo(provenance));
    }

    @Test
    void everySampleOfACellIsItsOwnRowListedInQuestionEndpointSampleOrder() {
        JobRecord job = submit(Jobs.spec("samples", 2, 2, 3));
        assertThat(job.cells()).isEqualTo(12);
        List<Cell> cells = CellLayout.cells(job.spec());
        List<Cell> shuffled = new ArrayList<>(cells);
        java.util.Collections.shuffle(shuffled, new java.util.Random(11));
        Flux.fromIterable(shuffled).concatMap(c -> store.append(job.id(),
                new JobEvent.ExecutionFinished(Jobs.succeeded(c, clock.instant())))).blockLast(WAIT);
        // The same sample again is the same cell: refused, nothing stored twice.
        StepVerifier.create(store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cells.get(4), clock.instant()))))
                .expectComplete().verify(WAIT);

        assertThat(store.orderedExecutions(job.id()).map(ExecutionResult::cell).collectList().block(WAIT))
                .containsExactlyElementsOf(cells);
        assertThat(cells.subList(0, 3)).extracting(Cell::sample).containsExactly(0, 1, 2);
        assertThat(store.find(job.id()).block(WAIT).counts()).isEqualTo(new ExecutionCounts(12, 0, 0, 0, 0));
        assertThat(events(job.id())).filteredOn(e -> e.event() instanceof JobEvent.ExecutionFinished)
                .extracting(e -> ((JobEvent.ExecutionFinished) e.event()).result().cell().sample())
                .containsExactlyInAnyOrder(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2);
    }

    @Test
    void cancellingAQueuedSampledJobStoresEverySampleCancelled() {
        JobRecord job = submit(Jobs.spec("cancel-samples", 2, 2, 4));

        StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.CANCELLED).expectComplete().verify(WAIT);

        assertThat(store.orderedExecutions(job.id()).map(ExecutionResult::cell).collectList().block(WAIT))
                .containsExactlyElementsOf(CellLayout.cells(job.spec())).hasSize(16);
    }

    // ------------------------------------------------------------------ cancel

    @Test
    void cancellingAQueuedJobStoresEveryCellCancelledAndFinishesIt() {
        JobRecord job = submit(Jobs.spec("cancel", 4, 3));

        StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.CANCELLED).expectComplete().verify(WAIT);

        JobRecord cancelled = store.find(job.id()).block(WAIT);
        assertThat(cancelled.status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(cancelled.counts()).isEqualTo(new ExecutionCounts(0, 0, 0, 12, 0));
        assertThat(store.orderedExecutions(job.id()).collectList().block(WAIT))
                .hasSize(12)
                .allSatisfy(r -> {
                    assertThat(r.status()).isEqualTo(ExecutionStatus.CANCELLED);
                    assertThat(r.error().code()).isEqualTo("CANCELLED");
                })
                .extracting(ExecutionResult::cell).containsExactlyElementsOf(CellLayout.cells(job.spec()));
        // Every cell that became terminal has its execution.finished, between job.queued and job.finished.
        List<StoredEvent> log = events(job.id());
        assertThat(log).extracting(StoredEvent::seq).containsExactlyElementsOf(LongStream.rangeClosed(1, 14).boxed().toList());
        assertThat(log.get(0).event()).isEqualTo(new JobEvent.JobQueued(12));
        assertThat(log.subList(1, 13)).extracting(e -> ((JobEvent.ExecutionFinished) e.event()).result().cell())
                .containsExactlyElementsOf(CellLayout.cells(job.spec()));
        assertThat(log.get(13).event()).isEqualTo(new JobEvent.JobFinished(JobStatus.CANCELLED, new ExecutionCounts(0, 0, 0, 12, 0)));
        StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.ALREADY_TERMINAL).expectComplete().verify(WAIT);
        assertThat(events(job.id())).hasSize(14);
    }

    @Test
    void cancellingAQueuedJobPublishesTheEventsItStored() {
        JobRecord job = submit(Jobs.spec("cancel-signal", 2, 2));
        List<Signal> seen = new CopyOnWriteArrayList<>();
        Disposable subscription = signals.signals().subscribe(seen::add);
        try {
            StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.CANCELLED).expectComplete().verify(WAIT);

            // What the signal carries is what a read of the log gives: the event feeds pass it on as read.
            // Subscribers get signals on the parallel scheduler, so it may come after the cancel answered.
            List<StoredEvent> stored = events(job.id()).subList(1, 6);
            org.awaitility.Awaitility.await().atMost(WAIT).untilAsserted(() ->
                    assertThat(seen).contains(new Signal.EventsAppended(job.id(), 6, stored)));
        } finally {
            subscription.dispose();
        }
    }

    @Test
    void cancellingAQueuedRetryGivesOnlyTheCellsItHadNotCarriedAnEvent() {
        JobRecord source = submit(Jobs.spec("cancel-retry", 2, 2));
        store.append(source.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        List<Cell> cells = CellLayout.cells(source.spec());
        finish(source.id(), cells.get(0));
        finish(source.id(), cells.get(3));
        store.append(source.id(), new JobEvent.ExecutionFinished(Jobs.failed(cells.get(1), clock.instant()))).block(WAIT);
        store.append(source.id(), new JobEvent.JobFinished(JobStatus.FAILED, ExecutionCounts.EMPTY)).block(WAIT);
        JobRecord retry = store.retry(Jobs.newJob(source.spec(), null, T0), source.id(), Set.of(ExecutionStatus.FAILED, ExecutionStatus.CANCELLED))
                .block(WAIT).job();

        StepVerifier.create(store.requestCancel(retry.id())).expectNext(CancelOutcome.CANCELLED).expectComplete().verify(WAIT);

        // job.queued, the two carried cells, then one CANCELLED execution.finished for each of the other two
        List<StoredEvent> log = events(retry.id());
        assertThat(log).extracting(StoredEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(log.subList(1, 5)).extracting(e -> ((JobEvent.ExecutionFinished) e.event()).result())
                .extracting(ExecutionResult::cell, ExecutionResult::status)
                .containsExactly(
                        tuple(cells.get(0), ExecutionStatus.SUCCEEDED),
                        tuple(cells.get(3), ExecutionStatus.SUCCEEDED),
                        tuple(cells.get(1), ExecutionStatus.CANCELLED),
                        tuple(cells.get(2), ExecutionStatus.CANCELLED));
        assertThat(log.get(5).event()).isEqualTo(new JobEvent.JobFinished(JobStatus.CANCELLED, new ExecutionCounts(2, 0, 0, 2, 0)));
    }

    @Test
    void cancellingARunningJobFlagsItForItsOwnerAndSignals() {
        JobRecord job = submit(Jobs.spec("cancel-running", 1, 2));
        store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        List<Signal> seen = new CopyOnWriteArrayList<>();
        Disposable subscription = signals.signals().subscribe(seen::add);
        try {
            StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.REQUESTED).expectComplete().verify(WAIT);
            // Signals reach subscribers on their own worker, shortly after the publish.
            org.awaitility.Awaitility.await().atMost(WAIT).untilAsserted(() -> assertThat(seen).contains(new Signal.CancelRequested(job.id())));
        } finally {
            subscription.dispose();
        }
        JobRecord flagged = store.find(job.id()).block(WAIT);
        assertThat(flagged.status()).isEqualTo(JobStatus.RUNNING);
        assertThat(flagged.cancelRequested()).isTrue();
        assertThat(store.executions(job.id()).count().block(WAIT)).isZero();
    }

    @Test
    void oneQueryTellsWhichRunningJobsHaveACancelRequested() {
        JobRecord flagged = submit(Jobs.spec("flagged", 1, 1));
        JobRecord other = submit(Jobs.spec("other", 1, 1));
        store.append(flagged.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        store.append(other.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        store.requestCancel(flagged.id()).block(WAIT);

        assertThat(store.cancelRequested(List.of(flagged.id(), other.id())).collectList().block(WAIT)).containsExactly(flagged.id());
        assertThat(store.cancelRequested(List.of(other.id())).collectList().block(WAIT)).isEmpty();
        assertThat(store.cancelRequested(List.of()).collectList().block(WAIT)).isEmpty();
    }

    @Test
    void cancellingAClaimedJobBeforeItStartedIsLeftToItsOwner() {
        JobRecord job = submit(Jobs.spec("cancel-claimed", 1, 2));
        assertThat(store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT)).isNotNull();

        StepVerifier.create(store.requestCancel(job.id())).expectNext(CancelOutcome.REQUESTED).expectComplete().verify(WAIT);

        // Not finished behind the owner's back: it is about to start the job and will see the flag.
        JobRecord flagged = store.find(job.id()).block(WAIT);
        assertThat(flagged.status()).isEqualTo(JobStatus.QUEUED);
        assertThat(flagged.cancelRequested()).isTrue();
        assertThat(store.executions(job.id()).count().block(WAIT)).isZero();
    }

    // ------------------------------------------------------------------ claiming

    @Test
    void concurrentClaimersNeverGetTheSameJob() {
        List<JobId> ids = IntStream.range(0, 20).mapToObj(i -> submit(Jobs.spec("claim-" + i, 1, 1)).id()).toList();

        List<ClaimedJob> claims = Flux.range(0, 40)
                .flatMap(i -> store.claimNext("owner-" + i, Duration.ofMinutes(1)).subscribeOn(Schedulers.parallel()), 40)
                .collectList().block(WAIT);

        assertThat(claims).extracting(c -> c.job().id()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        StepVerifier.create(store.claimNext("late", Duration.ofMinutes(1))).expectComplete().verify(WAIT);
        assertThat(store.list(new JobQuery(null, 50, null)).collectList().block(WAIT))
                .allSatisfy(j -> assertThat(j.owner()).startsWith("owner-"));
    }

    @Test
    void concurrentBatchClaimersNeverGetTheSameJob() {
        List<JobId> ids = IntStream.range(0, 30).mapToObj(i -> submit(Jobs.spec("batch-" + i, 1, 1)).id()).toList();

        List<ClaimedJob> claims = Flux.range(0, 6)
                .flatMap(i -> store.claim("owner-" + i, Duration.ofMinutes(1), 8, Set.of()).subscribeOn(Schedulers.parallel()), 6)
                .collectList().block(WAIT);

        assertThat(claims).extracting(c -> c.job().id()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        assertThat(claims).allSatisfy(c -> assertThat(c.job().owner()).startsWith("owner-"));
        StepVerifier.create(store.claim("late", Duration.ofMinutes(1), 8, Set.of())).expectComplete().verify(WAIT);
    }

    @Test
    void aBatchClaimTakesTheOldestJobsUpToItsLimit() {
        JobId first = submit(Jobs.spec("first", 1, 1)).id();
        JobId second = submit(Jobs.spec("second", 1, 1)).id();
        JobId third = submit(Jobs.spec("third", 1, 1)).id();

        List<ClaimedJob> claims = store.claim("runner-a", Duration.ofMinutes(1), 2, Set.of()).collectList().block(WAIT);

        assertThat(claims).extracting(c -> c.job().id()).containsExactly(first, second);
        assertThat(claims).allSatisfy(c -> {
            assertThat(c.job().owner()).isEqualTo("runner-a");
            assertThat(c.stored()).isEmpty();
        });
        assertThat(store.claim("runner-b", Duration.ofMinutes(1), 5, Set.of()).collectList().block(WAIT))
                .extracting(c -> c.job().id()).containsExactly(third);
    }

    @Test
    void claimsTheOldestJobFirstAndLeavesItsStatusToTheEngine() {
        JobId older = submit(Jobs.spec("older", 1, 1)).id();
        submit(Jobs.spec("newer", 1, 1));

        ClaimedJob claimed = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT);

        assertThat(claimed.job().id()).isEqualTo(older);
        assertThat(claimed.job().status()).isEqualTo(JobStatus.QUEUED);
        assertThat(claimed.job().owner()).isEqualTo("runner-a");
        assertThat(claimed.stored()).isEmpty();
    }

    @Test
    void aJobWhoseLeaseExpiredIsReclaimedWithItsStoredRows() {
        JobRecord job = submit(Jobs.spec("resume", 2, 2));
        store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT);
        store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        List<Cell> cells = CellLayout.cells(job.spec());
        finish(job.id(), cells.get(0));
        finish(job.id(), cells.get(1));

        StepVerifier.create(store.claimNext("runner-b", Duration.ofMinutes(1))).expectComplete().verify(WAIT);
        clock.advance(Duration.ofSeconds(30));
        assertThat(store.renewLeases("runner-a", List.of(job.id()), Duration.ofMinutes(1)).collectList().block(WAIT)).containsExactly(job.id());
        clock.advance(Duration.ofSeconds(61));
        ClaimedJob resumed = store.claimNext("runner-b", Duration.ofMinutes(1)).block(WAIT);

        assertThat(resumed.job().id()).isEqualTo(job.id());
        assertThat(resumed.job().owner()).isEqualTo("runner-b");
        assertThat(resumed.job().status()).isEqualTo(JobStatus.RUNNING);
        assertThat(resumed.stored()).extracting(ExecutionResult::cell).containsExactlyInAnyOrder(cells.get(0), cells.get(1));
        assertThat(store.renewLeases("runner-a", List.of(job.id()), Duration.ofMinutes(1)).collectList().block(WAIT)).isEmpty();
    }

    @Test
    void aReleasedJobCanBeClaimedAtOnceByAnotherOwner() {
        JobRecord job = submit(Jobs.spec("release", 1, 1));
        JobLease lease = store.claimNext("runner-a", Duration.ofMinutes(10)).block(WAIT).lease();
        store.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);

        store.release(new JobLease(job.id(), "someone-else", lease.token())).block(WAIT);
        store.release(new JobLease(job.id(), "runner-a", lease.token() + 1)).block(WAIT);
        StepVerifier.create(store.claimNext("runner-b", Duration.ofMinutes(1))).expectComplete().verify(WAIT);
        store.release(lease).block(WAIT);

        assertThat(store.claimNext("runner-b", Duration.ofMinutes(1)).block(WAIT).job().id()).isEqualTo(job.id());
    }

    @Test
    void everyClaimRaisesTheFencingTokenSoAnEarlierRunOfTheSameOwnerCanNoLongerWrite() {
        JobRecord job = submit(Jobs.spec("refence", 1, 2));
        List<Cell> cells = CellLayout.cells(job.spec());
        var journal = store.journalFor("runner-a");
        JobLease first = claimAndStart(journal);

        clock.advance(Duration.ofMinutes(2));
        JobLease second = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT).lease();

        assertThat(second.token()).isGreaterThan(first.token());
        StepVerifier.create(journal.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(0), clock.instant())))
                        .contextWrite(first::writeTo))
                .expectError(OwnershipLostException.class).verify(WAIT);
        StepVerifier.create(journal.append(job.id(), new JobEvent.QuestionStarted("q0", 0, 1)).contextWrite(first::writeTo))
                .expectError(OwnershipLostException.class).verify(WAIT);
        assertThat(journal.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(1), clock.instant())))
                .contextWrite(second::writeTo).block(WAIT)).isNotNull();
        assertThat(store.executions(job.id()).collectList().block(WAIT)).extracting(ExecutionResult::cell).containsExactly(cells.get(1));
    }

    /** Claims the next job as runner-a and appends its job.started under the lease, as an owner does first. */
    private JobLease claimAndStart(JobJournal journal) {
        var claimed = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT);
        journal.append(claimed.job().id(), new JobEvent.JobStarted("runner-a")).contextWrite(claimed.lease()::writeTo).block(WAIT);
        return claimed.lease();
    }

    /**
     * Results appended together go to the group commit together: one batch, seqs in their order, a
     * cell that has its row already stores nothing, and the lease's fencing token still holds.
     */
    @Test
    void resultsAppendedTogetherShareOneBatchInOrderUnderTheLease() {
        JobRecord job = submit(Jobs.spec("together", 1, 4));
        List<Cell> cells = CellLayout.cells(job.spec());
        var journal = store.journalFor("runner-a");
        JobLease lease = claimAndStart(journal);
        finish(job.id(), cells.get(2));
        long[] before = store.batchStats();

        List<JobEvent> results = cells.stream().<JobEvent>map(c -> new JobEvent.ExecutionFinished(Jobs.succeeded(c, clock.instant()))).toList();
        var outcomes = journal.appendAll(job.id(), results).contextWrite(lease::writeTo).block(WAIT);

        long[] after = store.batchStats();
        assertThat(after[0] - before[0]).as("batches").isEqualTo(1);
        assertThat(after[1] - before[1]).as("items").isEqualTo(4);
        assertThat(outcomes).extracting(o -> o.map(StoredEvent::seq).orElse(null)).containsExactly(4L, 5L, null, 6L);
        assertThat(events(job.id())).extracting(StoredEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(store.executions(job.id()).collectList().block(WAIT)).hasSize(4);

        clock.advance(Duration.ofMinutes(2));
        store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT); // a new lease: the first one's token is stale
        StepVerifier.create(journal.appendAll(job.id(), List.of(new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(0), clock.instant()))))
                        .contextWrite(lease::writeTo))
                .expectError(OwnershipLostException.class).verify(WAIT);
    }

    /**
     * A question boundary (question.finished of one question, question.started of the next) appended
     * together: consecutive seqs in order, idempotent under the lease when retried, refused under a
     * stale lease, and an error for a job that does not exist.
     */
    @Test
    void aQuestionBoundaryAppendedTogetherIsStoredInOrderOnceAndFenced() {
        JobRecord job = submit(Jobs.spec("boundary", 2, 1));
        var journal = store.journalFor("runner-a");
        JobLease lease = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT).lease();
        journal.appendAll(job.id(), List.of(new JobEvent.JobStarted("runner-a"), new JobEvent.QuestionStarted("q0", 0, 2)))
                .contextWrite(lease::writeTo).block(WAIT);
        List<JobEvent> boundary = List.of(new JobEvent.QuestionFinished("q0", 0, ExecutionCounts.allPending(1)),
                new JobEvent.QuestionStarted("q1", 1, 2));

        var once = journal.appendAll(job.id(), boundary).contextWrite(lease::writeTo).block(WAIT);
        var again = journal.appendAll(job.id(), boundary).contextWrite(lease::writeTo).block(WAIT);

        assertThat(once).extracting(o -> o.orElseThrow().seq()).containsExactly(4L, 5L);
        assertThat(once).extracting(o -> o.orElseThrow().event()).containsExactlyElementsOf(boundary);
        assertThat(again).as("a retry finds what the first attempt stored").isEqualTo(once);
        assertThat(events(job.id())).extracting(StoredEvent::type)
                .containsExactly("job.queued", "job.started", "question.started", "question.finished", "question.started");
        assertThat(events(job.id()).get(4)).isEqualTo(once.get(1).orElseThrow());
        assertThat(store.find(job.id()).block(WAIT).currentQuestion()).isEqualTo(1);

        clock.advance(Duration.ofMinutes(2));
        store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT); // a new lease: the first one's token is stale
        StepVerifier.create(journal.appendAll(job.id(), List.of(new JobEvent.QuestionFinished("q1", 1, ExecutionCounts.allPending(1)),
                        new JobEvent.QuestionStarted("q0", 0, 2))).contextWrite(lease::writeTo))
                .expectError(OwnershipLostException.class).verify(WAIT);
        StepVerifier.create(store.appendAll(JobId.random(), boundary)).expectError(IllegalArgumentException.class).verify(WAIT);
        assertThat(events(job.id())).hasSize(5);
    }

    @Test
    void aClaimNeverTakesAJobTheClaimerStillRuns() {
        JobRecord job = submit(Jobs.spec("excluded", 1, 1));
        store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT);
        clock.advance(Duration.ofMinutes(2));

        StepVerifier.create(store.claim("runner-a", Duration.ofMinutes(1), 4, Set.of(job.id()))).expectComplete().verify(WAIT);

        assertThat(store.claim("runner-b", Duration.ofMinutes(1), 4, Set.of()).collectList().block(WAIT))
                .extracting(c -> c.job().id()).containsExactly(job.id());
    }

    @Test
    void bookkeepingAppendsUnderALeaseAreIdempotent() {
        JobRecord job = submit(Jobs.spec("retried", 2, 1));
        var journal = store.journalFor("runner-a");
        JobLease lease = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT).lease();

        // A retry after a commit whose answer was lost is the same append again.
        List<JobEvent> bookkeeping = List.of(new JobEvent.JobStarted("runner-a"), new JobEvent.QuestionStarted("q0", 0, 2),
                new JobEvent.QuestionFinished("q0", 0, ExecutionCounts.allPending(1)), new JobEvent.QuestionStarted("q1", 1, 2));
        for (JobEvent event : bookkeeping) {
            StoredEvent once = journal.append(job.id(), event).contextWrite(lease::writeTo).block(WAIT);
            StoredEvent again = journal.append(job.id(), event).contextWrite(lease::writeTo).block(WAIT);
            assertThat(again).as("retry of %s", event.type()).isEqualTo(once);
        }

        assertThat(events(job.id())).extracting(StoredEvent::type)
                .containsExactly("job.queued", "job.started", "question.started", "question.finished", "question.started");
        assertThat(events(job.id())).extracting(StoredEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L);
    }

    @Test
    void concurrentRetriesOfOneBookkeepingAppendStoreItOnceAndAllGetIt() {
        JobRecord job = submit(Jobs.spec("raced", 2, 1));
        var journal = store.journalFor("runner-a");
        JobLease lease = store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT).lease();
        journal.append(job.id(), new JobEvent.JobStarted("runner-a")).contextWrite(lease::writeTo).block(WAIT);

        // Retries that overlap the first attempt (its answer late, not lost) wait for its row lock.
        JobEvent started = new JobEvent.QuestionStarted("q0", 0, 2);
        List<StoredEvent> answers = Flux.range(0, 8)
                .flatMap(i -> Mono.defer(() -> journal.append(job.id(), started).contextWrite(lease::writeTo))
                        .subscribeOn(Schedulers.parallel()), 8)
                .collectList().block(WAIT);

        assertThat(answers).hasSize(8).allSatisfy(e -> assertThat(e.seq()).isEqualTo(3L));
        assertThat(events(job.id())).extracting(StoredEvent::type).containsExactly("job.queued", "job.started", "question.started");
    }

    @Test
    void releaseOwnedFreesEveryUnfinishedJobOfTheOwnerButTheKeptOnes() {
        JobRecord kept = submit(Jobs.spec("kept", 1, 1));
        JobRecord left = submit(Jobs.spec("left", 1, 1));
        JobRecord others = submit(Jobs.spec("others", 1, 1));
        store.claim("runner-a", Duration.ofMinutes(10), 2, Set.of()).collectList().block(WAIT);
        store.claimNext("runner-b", Duration.ofMinutes(10)).block(WAIT);

        assertThat(store.releaseOwned("runner-a", Set.of(kept.id())).collectList().block(WAIT)).containsExactly(left.id());

        assertThat(store.find(kept.id()).block(WAIT).owner()).isEqualTo("runner-a");
        assertThat(store.find(left.id()).block(WAIT).owner()).isNull();
        assertThat(store.find(others.id()).block(WAIT).owner()).isEqualTo("runner-b");
        assertThat(store.claimNext("runner-c", Duration.ofMinutes(1)).block(WAIT).job().id()).isEqualTo(left.id());
    }

    @Test
    void leasesAreMeasuredOnTheDatabasesClockNotTheInstances() {
        // A store without a lease clock, on an instance whose clock runs an hour ahead.
        MutableClock fast = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
        R2dbcJobStore skewed = R2dbcJobStore.builder(database.connectionFactory()).clock(fast).schema(database.schema()).build();
        JobRecord job = skewed.submit(Jobs.newJob(Jobs.spec("skew", 1, 1), null, fast.instant())).block(WAIT).job();
        skewed.claimNext("runner-a", Duration.ofMinutes(10)).block(WAIT);

        fast.advance(Duration.ofHours(2));
        StepVerifier.create(skewed.claimNext("runner-b", Duration.ofMinutes(10))).expectComplete().verify(WAIT);
        assertThat(skewed.renewLeases("runner-a", List.of(job.id()), Duration.ofMillis(1)).collectList().block(WAIT))
                .containsExactly(job.id());
        org.awaitility.Awaitility.await().atMost(WAIT)
                .until(() -> skewed.claimNext("runner-b", Duration.ofMinutes(10)).blockOptional(WAIT).isPresent());
        assertThat(skewed.find(job.id()).block(WAIT).owner()).isEqualTo("runner-b");
    }

    @Test
    void anOwnerThatLostItsLeaseCanNoLongerWriteTheJob() {
        JobRecord job = submit(Jobs.spec("fence", 2, 2));
        List<Cell> cells = CellLayout.cells(job.spec());
        var journalA = store.journalFor("runner-a");
        var journalB = store.journalFor("runner-b");
        store.claimNext("runner-a", Duration.ofMinutes(1)).block(WAIT);
        journalA.append(job.id(), new JobEvent.JobStarted("runner-a")).block(WAIT);
        journalA.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(0), clock.instant()))).block(WAIT);

        clock.advance(Duration.ofMinutes(2));
        store.claimNext("runner-b", Duration.ofMinutes(1)).block(WAIT);

        StepVerifier.create(journalA.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cells.get(1), clock.instant()))))
                .expectError(OwnershipLostException.class).verify(WAIT);
        StepVerifier.create(journalA.append(job.id(), new JobEvent.QuestionStarted("q1", 1, 2)))
                .expectError(OwnershipLostException.class).verify(WAIT);
        assertThat(journalB.append(job.id(), new JobEvent.JobStarted("runner-b")).block(WAIT)).isNotNull();
        assertThat(journalB.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cells.get(1), clock.instant()))).block(WAIT))
                .isNotNull();
        assertThat(store.executions(job.id()).collectList().block(WAIT)).hasSize(2)
                .anySatisfy(r -> assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED));
        assertThat(events(job.id())).extracting(StoredEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L);
    }

    // ------------------------------------------------------------------ volume

    @Test
    void aThousandExecutionsStreamedFromConcurrentJobsAreEachStoredOnce() {
        List<JobRecord> jobs = IntStream.range(0, 10).mapToObj(i -> submit(Jobs.spec("bulk-" + i, 10, 10))).toList();
        List<Mono<StoredEvent>> appends = new ArrayList<>();
        for (int c = 0; c < 100; c++) {
            for (JobRecord job : jobs) {
                Cell cell = CellLayout.cells(job.spec()).get(c);
                appends.add(Mono.defer(() -> store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.succeeded(cell, clock.instant())))));
                if (c % 10 == 0) { // the same cell again, racing the first
                    appends.add(Mono.defer(() -> store.append(job.id(), new JobEvent.ExecutionFinished(Jobs.failed(cell, clock.instant())))));
                }
            }
        }

        List<StoredEvent> stored = Flux.fromIterable(appends).flatMap(m -> m, 64).collectList().block(WAIT);

        assertThat(stored).hasSize(1000);
        for (JobRecord job : jobs) {
            assertThat(store.orderedExecutions(job.id()).map(ExecutionResult::cell).collectList().block(WAIT))
                    .containsExactlyElementsOf(CellLayout.cells(job.spec()));
            assertThat(events(job.id())).extracting(StoredEvent::seq)
                    .containsExactlyElementsOf(LongStream.rangeClosed(1, 101).boxed().toList());
            assertThat(store.find(job.id()).block(WAIT).counts().pending()).isZero();
        }
        // The stored data of each event names its own job and seq (the one-statement writer numbers them in SQL).
        String prefix = database.schema() == null ? "" : database.schema() + ".";
        List<String> mismatched = DatabaseClient.create(database.connectionFactory())
                .sql("SELECT job_id, seq, data FROM " + prefix + "job_events")
                .map((row, meta) -> {
                    var data = tools.jackson.databind.json.JsonMapper.shared().readTree(row.get("data", String.class));
                    boolean same = data.path("seq").asLong() == row.get("seq", Long.class)
                            && data.path("jobId").asString().equals(row.get("job_id", java.util.UUID.class).toString());
                    return same ? "" : row.get("job_id", java.util.UUID.class) + "#" + row.get("seq", Long.class) + " " + data;
                })
                .all().filter(m -> !m.isEmpty()).collectList().block(WAIT);
        assertThat(mismatched).isEmpty();
    }
}
