package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.observe.RunnerObservability;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.PlannedQuestion;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * Runs jobs: questions strictly one after another, the cells of one question in parallel (at most
 * {@code limits.concurrency} at once), every result written through the {@link JobJournal} before
 * the cell counts as finished.
 *
 * <pre>
 * Flux.fromIterable(questions)
 *     .concatMap(q -&gt; Flux.fromIterable(q.cells()).flatMap(this::execute, concurrency))
 * </pre>
 *
 * Built from plain objects with {@link #builder()}; no framework needed. One instance serves any
 * number of jobs and shares the per-provider concurrency limits and circuit breakers among them.
 *
 * <p>Longer than most classes here (about 430 lines, a third of them its builder and documentation) on
 * purpose: the shape of a job — ordering, deadline, cancellation and the terminal rows that follow
 * it — is one pipeline, and reading it in one place is what lets a reviewer check it; the work of one
 * cell is {@link CellExecutor}'s.
 */
public final class JobRunner {

    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    private final JobJournal journal;
    private final EndpointLanes lanes;
    private final CellExecutor executor;
    private final EngineMetrics metrics;
    private final EngineObservations observations;
    private final Clock clock;
    private final Scheduler scheduler;
    private final String runnerId;

    private JobRunner(Builder b, EndpointCatalog catalog, InferenceClientFactory clients, JobJournal journal, ReceiptSigner signer) {
        this.journal = journal;
        this.clock = b.clock != null ? b.clock : new SchedulerClock(b.scheduler);
        this.scheduler = b.scheduler;
        this.runnerId = b.runnerId;
        CircuitBreakerRegistry circuits = CircuitBreakerRegistry.of(b.circuitBreakerConfig);
        this.metrics = new EngineMetrics(b.meterRegistry);
        this.observations = new EngineObservations(b.observationRegistry);
        this.lanes = new EndpointLanes(catalog, clients, circuits, b.scheduler, metrics);
        lanes.all().forEach(metrics::registerLane);
        this.executor = new CellExecutor(lanes, b.retryPolicy, signer, clock, b.scheduler, b.random, metrics, observations);
    }

    public static Builder builder() {
        return new Builder();
    }

    public String runnerId() {
        return runnerId;
    }

    /** Every configured endpoint with its providers' circuit state and load, in configuration order. */
    public List<EndpointStatus> endpointStatuses() {
        return lanes.statuses();
    }

    /**
     * Runs (or resumes) a job and emits each event once it is stored, ending with
     * {@code job.finished}. If the journal stores no {@code job.started} (the job is already
     * terminal, e.g. cancelled while queued) nothing runs and the flux completes empty.
     *
     * <p>Cells already in {@code run.stored()} are skipped. When {@code run.cancellation()}
     * signals, or the job deadline ({@code startedAt + jobTimeout}) passes, in-flight calls are
     * cancelled (their connections closed) and every unfinished cell is stored {@code CANCELLED}
     * or {@code TIMED_OUT} before {@code job.finished}.
     *
     * <p>On error (the journal could not store an event even after its retries, or refused it with an
     * {@code OwnershipLostException} because another instance owns the job now) the flux errors, the
     * other in-flight cells are cancelled, and the job is left {@code RUNNING} with every stored row
     * intact, to be resumed. On cancel of the
     * subscription itself (shutdown, lost lease) in-flight calls are cancelled and nothing more is
     * written: the job stays resumable.
     *
     * <p>Everything the job does runs with its ids in the Reactor context: the MDC values of
     * {@link RunnerObservability} (in the MDC once the host enables automatic context propagation)
     * and the {@code beacon.job} → {@code beacon.question} → {@code beacon.execution} observations
     * of the builder's {@code ObservationRegistry}, the job's a child of the caller's current
     * observation. On error the job observation records the error; on either error or cancel it
     * stops with status {@code UNFINISHED}.
     */
    public Flux<StoredEvent> run(JobRun run) {
        return Flux.defer(() -> {
            ExecutionPlan plan = run.plan();
            JobId jobId = plan.jobId();
            RunState state = new RunState(plan, run.stored());
            Instant start = run.startedAt() != null ? run.startedAt() : clock.instant();
            Instant deadline = start.plus(plan.spec().limits().jobTimeout());
            Duration remaining = Duration.between(clock.instant(), deadline);
            Mono<JobStatus> stop = Mono.firstWithSignal(
                            // A failing cancellation source must not cancel the job: only a signal does.
                            run.cancellation().map(x -> JobStatus.CANCELLED).defaultIfEmpty(JobStatus.CANCELLED)
                                    .onErrorResume(e -> Mono.never()),
                            Mono.delay(remaining.isNegative() ? Duration.ZERO : remaining, scheduler).thenReturn(JobStatus.TIMED_OUT))
                    .doOnEach(signal -> {
                        JobStatus reason = signal.get();
                        if (reason != null && state.stop(reason)) {
                            LogContext.log(signal.getContextView(), () -> log.info("job {} stopping: {}", jobId, reason));
                        }
                    });
            // question.finished of the question that ran last, appended at the start of the next one
            // (or after the last one): see runQuestion.
            AtomicReference<@Nullable PendingFinished> pendingFinished = new AtomicReference<>();
            Flux<StoredEvent> questions = Flux.fromIterable(plan.questions())
                    .filter(q -> !state.isQuestionDone(q))
                    .concatMap(q -> runQuestion(plan, q, state, pendingFinished))
                    .concatWith(Mono.deferContextual(context -> {
                        PendingFinished last = pendingFinished.getAndSet(null);
                        return last == null ? Mono.empty() : journal.append(jobId, last.event(context));
                    }))
                    .takeUntilOther(stop);
            AtomicBoolean active = new AtomicBoolean();
            Flux<StoredEvent> job = journal.append(jobId, new JobEvent.JobStarted(runnerId))
                    .doOnEach(signal -> {
                        if (signal.isOnNext()) {
                            active.set(true);
                            metrics.jobStarted();
                            LogContext.log(signal.getContextView(), () -> log.info("job {} started on {}: {} questions x {} endpoints, {} cells already stored",
                                    jobId, runnerId, plan.questions().size(), plan.endpoints().size(), run.stored().size()));
                        }
                    })
                    // Empty: the job is already terminal (cancelled while queued), so nothing runs.
                    .flatMapMany(started -> Flux.just(started)
                            .concatWith(missingQuestionFinished(plan, state, run.finishedQuestions()))
                            .concatWith(questions)
                            .concatWith(Flux.defer(() -> finish(plan, state))))
                    .doFinally(signal -> {
                        if (active.getAndSet(false)) {
                            metrics.jobStopped();
                        }
                    });
            return observations.job(jobId, job)
                    .contextWrite(ctx -> LogContext.with(JobDeadline.with(ctx, deadline), RunnerObservability.JOB_ID, jobId.toString()));
        });
    }

    /**
     * The {@code question.finished} of the question that ran last, not yet appended: made when it is
     * appended, since its counts and duration are those of that moment (which it records and logs).
     */
    private interface PendingFinished {
        JobEvent.QuestionFinished event(ContextView context);
    }

    /**
     * On resume, {@code question.finished} for each question whose cells were all stored but whose
     * {@code question.finished} was not: an owner appends it only once the next question's calls are
     * under way (see {@link #runQuestion}), so an owner that stopped in between left it out, and the
     * question, being done, is not run again.
     */
    private Flux<StoredEvent> missingQuestionFinished(ExecutionPlan plan, RunState state, java.util.Set<Integer> finishedQuestions) {
        return Flux.fromIterable(plan.questions())
                .filter(q -> state.isQuestionDone(q) && !finishedQuestions.contains(q.index()))
                .concatMap(q -> journal.append(plan.jobId(),
                        new JobEvent.QuestionFinished(q.question().id(), q.index(), state.countsOf(q.cells()))));
    }

    /**
     * Runs one question. Its calls start as soon as the previous question's last row is stored; the
     * two bookkeeping events between questions ({@code question.finished} of the previous question,
     * then {@code question.started} of this one) are appended meanwhile, together
     * ({@link JobJournal#appendAll}: one statement on PostgreSQL), and every result of this question
     * waits for them before it is stored — those that came meanwhile together, in one more
     * {@code appendAll} ({@link HeldResults}). The event log keeps its order (… executions of k,
     * question.finished k, question.started k+1, executions of k+1 …) and question k+1 still only
     * starts once every cell of question k is stored, but the server no longer waits for the
     * bookkeeping between the last answer of k and the first request of k+1 (the benchmark suite's
     * "gap between questions").
     *
     * <p>{@code pendingFinished} holds the previous question's {@code question.finished} (not yet
     * made); this method takes it and leaves its own for the next question or the end.
     */
    private Flux<StoredEvent> runQuestion(ExecutionPlan plan, PlannedQuestion question, RunState state,
                                          AtomicReference<@Nullable PendingFinished> pendingFinished) {
        JobId jobId = plan.jobId();
        int total = plan.questions().size();
        List<Cell> todo = question.cells().stream().filter(c -> !state.isDone(c)).toList();
        int concurrency = plan.spec().limits().concurrency();
        Flux<StoredEvent> events = Flux.deferContextual(context -> {
            Instant questionStart = clock.instant();
            Instant previousResult = state.lastResultAt();
            if (previousResult != null) {
                metrics.questionGap(Duration.between(previousResult, questionStart));
            }
            LogContext.log(context, () -> log.info("job {} question {}/{} '{}' started: {} cells",
                    jobId, question.index() + 1, total, question.question().id(), todo.size()));
            PendingFinished previous = pendingFinished.getAndSet(finishContext -> {
                ExecutionCounts counts = state.countsOf(question.cells());
                Duration took = Duration.between(questionStart, clock.instant());
                metrics.questionFinished(took);
                LogContext.log(LogContext.with(Context.of(finishContext), RunnerObservability.QUESTION_ID, question.question().id()),
                        () -> log.info("job {} question {}/{} '{}' finished in {} ms: {}",
                                jobId, question.index() + 1, total, question.question().id(), took.toMillis(), counts));
                return new JobEvent.QuestionFinished(question.question().id(), question.index(), counts);
            });
            // The previous question's question.finished and this one's question.started, appended together.
            Flux<StoredEvent> announce = Flux.deferContextual(boundaryContext -> {
                List<JobEvent> boundaryEvents = new ArrayList<>(2);
                if (previous != null) {
                    boundaryEvents.add(previous.event(boundaryContext));
                }
                boundaryEvents.add(new JobEvent.QuestionStarted(question.question().id(), question.index(), total));
                return journal.appendAll(jobId, boundaryEvents).flatMapIterable(stored -> stored.stream().flatMap(Optional::stream).toList());
            });
            // Results that come before the boundary is stored wait for it, then are stored together.
            HeldResults held = new HeldResults();
            Flux<StoredEvent> boundary = announce
                    .concatWith(held.release(results -> journal.appendAll(jobId,
                            results.stream().<JobEvent>map(JobEvent.ExecutionFinished::new).toList())).then(Mono.empty()));
            Flux<StoredEvent> executions = Flux.fromIterable(todo)
                    .flatMap(cell -> executor.execute(jobId, cell, question.question().text(), plan.spec().params(), plan.spec().limits(),
                                    state.progressOf(cell))
                            .flatMap(result -> record(jobId, result, state, held)), concurrency);
            // Subscribes to both at once, emits the boundary's events first: results wait for it anyway.
            return Flux.mergeSequential(boundary, executions);
        });
        return observations.question(jobId, question, events)
                .contextWrite(ctx -> LogContext.with(ctx, RunnerObservability.QUESTION_ID, question.question().id()));
    }

    /**
     * Stores a result; the cell counts as finished only once the journal has committed it. A cell
     * that did not succeed is logged at INFO with its error code, the cell's ids in the MDC.
     */
    private Mono<StoredEvent> record(JobId jobId, ExecutionResult result, RunState state) {
        return record(jobId, result, state, null);
    }

    /** As {@link #record(JobId, ExecutionResult, RunState)}, through {@code held} when not null (see {@link HeldResults}). */
    private Mono<StoredEvent> record(JobId jobId, ExecutionResult result, RunState state, @Nullable HeldResults held) {
        Function<ExecutionResult, Mono<StoredEvent>> append = r -> journal.append(jobId, new JobEvent.ExecutionFinished(r));
        Mono<StoredEvent> stored = (held == null ? append.apply(result) : held.store(result, append))
                .doOnNext(event -> metrics.executionFinished(result))
                // Empty means the cell already had a row (a resumed run raced an earlier owner): done either way.
                .doOnSuccess(event -> state.finished(result, clock.instant()));
        if (result.status() == ExecutionStatus.SUCCEEDED) {
            return stored;
        }
        // Only a failed cell writes a line; only its append pays for the cell's MDC values.
        ExecutionError error = Objects.requireNonNull(result.error(), "a result that did not succeed has an error");
        return Mono.deferContextual(context -> stored.doOnSuccess(event -> LogContext.log(context,
                        () -> log.info("job {} cell {} {}: {} {}", jobId, result.cell(), result.status(), error.code(), error.message()))))
                .contextWrite(ctx -> LogContext.with(ctx, RunnerObservability.QUESTION_ID, result.cell().questionId(),
                        RunnerObservability.MODEL, result.cell().endpoint().model(), RunnerObservability.REGION, result.cell().endpoint().region(),
                        RunnerObservability.PROVIDER, result.providerId()));
    }

    private Flux<StoredEvent> finish(ExecutionPlan plan, RunState state) {
        JobId jobId = plan.jobId();
        JobStatus stop = state.stopReason();
        if (stop == null) {
            ExecutionCounts counts = state.counts();
            JobStatus status = counts.succeeded() == counts.total() ? JobStatus.SUCCEEDED
                    : counts.successRate() >= plan.spec().minSuccessRate() ? JobStatus.PARTIAL : JobStatus.FAILED;
            return finished(jobId, status, counts).flux();
        }
        ExecutionStatus cellStatus = stop == JobStatus.CANCELLED ? ExecutionStatus.CANCELLED : ExecutionStatus.TIMED_OUT;
        ExecutionError error = stop == JobStatus.CANCELLED
                ? new ExecutionError(ExecutionError.CANCELLED, "job was cancelled")
                : new ExecutionError(ExecutionError.JOB_TIMEOUT, "job timeout of " + plan.spec().limits().jobTimeout() + " passed");
        Instant now = clock.instant();
        return Flux.fromIterable(state.unfinishedCells())
                .map(cell -> interrupted(cell, cellStatus, error, state.existingProgress(cell), now))
                .flatMap(result -> record(jobId, result, state), 32)
                .concatWith(Mono.defer(() -> finished(jobId, stop, state.counts())));
    }

    private Mono<StoredEvent> finished(JobId jobId, JobStatus status, ExecutionCounts counts) {
        return Mono.deferContextual(context -> journal.append(jobId, new JobEvent.JobFinished(status, counts))
                .doOnNext(e -> {
                    metrics.jobFinished(status);
                    LogContext.log(context, () -> log.info("job {} finished {}: {}", jobId, status, ((JobEvent.JobFinished) e.event()).counts()));
                }));
    }

    private static ExecutionResult interrupted(Cell cell, ExecutionStatus status, ExecutionError error, @Nullable CellProgress progress,
                                               Instant now) {
        if (progress == null || progress.attempts() == 0) {
            return ExecutionResult.notRun(cell, status, error, now);
        }
        return new ExecutionResult(cell, progress.providerId(), status, progress.attempts(), progress.startedAt(), now,
                Duration.between(progress.startedAt(), now).toMillis(), null, error, null);
    }

    /** Builds a {@link JobRunner}; {@code endpoints}, {@code clients} and {@code journal} are required. */
    public static final class Builder {
        private @Nullable EndpointCatalog catalog;
        private @Nullable InferenceClientFactory clients;
        private @Nullable JobJournal journal;
        private MeterRegistry meterRegistry = new SimpleMeterRegistry();
        private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;
        private @Nullable Clock clock;
        private Scheduler scheduler = Schedulers.parallel();
        private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
        private CircuitBreakerConfig circuitBreakerConfig = defaultCircuitBreaker();
        private String runnerId = "runner-" + ProcessHandle.current().pid();
        private @Nullable ReceiptSigner signer;
        private @Nullable DoubleSupplier random;

        private Builder() {
        }

        public Builder endpoints(EndpointCatalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        public Builder clients(InferenceClientFactory clients) {
            this.clients = Objects.requireNonNull(clients, "clients");
            return this;
        }

        public Builder journal(JobJournal journal) {
            this.journal = Objects.requireNonNull(journal, "journal");
            return this;
        }

        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /**
         * Registry for the {@code beacon.job}, {@code beacon.question} and {@code beacon.execution}
         * observations (see {@link RunnerObservability}); defaults to {@link ObservationRegistry#NOOP},
         * which observes nothing.
         */
        public Builder observationRegistry(ObservationRegistry registry) {
            this.observationRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /** Clock for timestamps; defaults to the scheduler's time so that virtual time moves both. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Scheduler for timeouts, backoff and the job deadline; defaults to {@link Schedulers#parallel()}. */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
            return this;
        }

        public Builder circuitBreaker(CircuitBreakerConfig config) {
            this.circuitBreakerConfig = Objects.requireNonNull(config, "config");
            return this;
        }

        public Builder runnerId(String runnerId) {
            if (runnerId == null || runnerId.isBlank()) {
                throw new IllegalArgumentException("runnerId must not be blank");
            }
            this.runnerId = runnerId;
            return this;
        }

        public Builder receiptSigner(ReceiptSigner signer) {
            this.signer = Objects.requireNonNull(signer, "signer");
            return this;
        }

        /** Source of uniform randoms in [0, 1) for backoff jitter; tests pass a fixed one. */
        public Builder jitterSource(DoubleSupplier random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        public JobRunner build() {
            EndpointCatalog endpoints = Objects.requireNonNull(catalog, "endpoints must be set");
            InferenceClientFactory factory = Objects.requireNonNull(clients, "clients must be set");
            JobJournal target = Objects.requireNonNull(journal, "journal must be set");
            if (signer == null) {
                signer = ReceiptSigner.ephemeral();
            }
            return new JobRunner(this, endpoints, factory, target, signer);
        }

        /**
         * Opens a provider's circuit when half of its last 20 calls (at least 10) failed transiently,
         * fails fast for 30 s, then lets 3 trial calls through.
         *
         * <p>Its sliding window is lock-free: each call's outcome is recorded on the event loop that
         * received the answer, and the default (synchronized) window takes a lock there, on which two
         * answers from one provider arriving at once on two event loops park (seen by BlockHound).
         */
        public static CircuitBreakerConfig defaultCircuitBreaker() {
            return CircuitBreakerConfig.custom()
                    .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                    .slidingWindowSynchronizationStrategy(CircuitBreakerConfig.SlidingWindowSynchronizationStrategy.LOCK_FREE)
                    .slidingWindowSize(20)
                    .minimumNumberOfCalls(10)
                    .failureRateThreshold(50)
                    .waitDurationInOpenState(Duration.ofSeconds(30))
                    .permittedNumberOfCallsInHalfOpenState(3)
                    // A 429 is a provider that is up and asks for fewer calls: Retry-After and the (adaptive)
                    // concurrency limit deal with it; counting it would open the circuit of a healthy provider.
                    .recordException(e -> e instanceof dev.beacon.runner.core.provider.InferenceFailure f && f.retryable()
                            && !"HTTP_429".equals(f.code()))
                    .build();
        }
    }

    /** A clock that reads the scheduler's time, so virtual-time tests move timestamps and timers together. */
    static final class SchedulerClock extends Clock {
        private final Scheduler scheduler;

        SchedulerClock(Scheduler scheduler) {
            this.scheduler = scheduler;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(scheduler.now(TimeUnit.MILLISECONDS));
        }
    }
}
