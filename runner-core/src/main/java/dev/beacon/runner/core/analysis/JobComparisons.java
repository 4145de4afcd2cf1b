package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.spec.JobSpec;
import java.util.List;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Computes comparisons off the caller's thread: the blocking work of a {@link ComparisonBuilder} runs on
 * a bounded scheduler (never an event loop), one task per (question, model), at most
 * {@code parallelism} at once, then the job-wide assembly.
 *
 * <p>Either borrows a scheduler (its owner disposes it) or, made by {@link #withOwnScheduler}, owns one
 * named {@code beacon-analysis} with a thread per core, which {@link #close()} disposes.
 */
public final class JobComparisons implements AutoCloseable {

    /** Tasks that may wait for a thread of an own scheduler; past it a comparison fails with a rejection. */
    static final int QUEUED_TASKS = 10_000;

    private final ComparisonBuilder builder;
    private final Scheduler scheduler;
    private final int parallelism;
    private final boolean ownsScheduler;

    /**
     * @param scheduler   a bounded scheduler that may block (e.g. {@code Schedulers.newBoundedElastic}); not disposed here
     * @param parallelism (question, model)s computed at once, at least 1
     */
    public JobComparisons(ComparisonBuilder builder, Scheduler scheduler, int parallelism) {
        this(builder, scheduler, parallelism, false);
    }

    private JobComparisons(ComparisonBuilder builder, Scheduler scheduler, int parallelism, boolean ownsScheduler) {
        this.builder = Objects.requireNonNull(builder, "builder");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be >= 1, but was " + parallelism);
        }
        this.parallelism = parallelism;
        this.ownsScheduler = ownsScheduler;
    }

    /** With a {@code beacon-analysis} scheduler of its own, a (daemon) thread per core, disposed by {@link #close()}. */
    public static JobComparisons withOwnScheduler(ComparisonBuilder builder) {
        int cores = Runtime.getRuntime().availableProcessors();
        return new JobComparisons(builder, Schedulers.newBoundedElastic(cores, QUEUED_TASKS, "beacon-analysis", 60, true), cores, true);
    }

    /** The best embedder of this class path ({@link AnswerEmbedders#available()}), default settings, an own scheduler. */
    public static JobComparisons withDefaults() {
        return withOwnScheduler(new ComparisonBuilder(new AnswerEmbeddingCache(AnswerEmbedders.available()), AnalysisSettings.DEFAULT));
    }

    /** The builder in use. */
    public ComparisonBuilder builder() {
        return builder;
    }

    /**
     * This job's drift from a baseline job ({@link RunDrift}), computed on the scheduler with the same
     * embeddings and settings as the comparison. On error emits it; on cancel the computation is
     * abandoned (it finishes unobserved).
     */
    public Mono<java.util.Map<String, RunDrift.Baseline>> drift(String jobId, List<ExecutionResult> rows, String baselineId,
                                                                List<ExecutionResult> baselineRows) {
        RunDrift drift = new RunDrift(builder.embeddings(), builder.settings());
        return Mono.fromCallable(() -> drift.compare(jobId, rows, baselineId, baselineRows)).subscribeOn(scheduler);
    }

    /**
     * The comparison of a job's rows, computed on the scheduler; nothing runs on the subscribing thread.
     *
     * <p>On error (the embedding model cannot be loaded or run, or the scheduler's queue is full) emits
     * that error; (question, model)s not yet started are not started. On cancel no further
     * (question, model) is started; those already running finish on their threads and their results are
     * dropped: the computation is abandoned, not interrupted.
     */
    public Mono<Comparison> compare(String jobId, JobSpec spec, List<ExecutionResult> rows) {
        return Mono.fromCallable(() -> ComparisonBuilder.groups(jobId, spec, rows))
                .subscribeOn(scheduler)
                .flatMapMany(groups -> Flux.fromIterable(groups)
                        .flatMapSequential(g -> Mono.fromCallable(() -> builder.compare(g)).subscribeOn(scheduler), parallelism, 1))
                .collectList()
                .publishOn(scheduler)
                .map(drafts -> builder.assemble(jobId, spec, drafts));
    }

    /** Disposes the scheduler if this instance made it; a borrowed one is left to its owner. */
    @Override
    public void close() {
        if (ownsScheduler) {
            scheduler.dispose();
        }
    }
}
