package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.evidence.Sha256;
import dev.beacon.runner.core.observe.RunnerObservability;
import dev.beacon.runner.core.provider.InferenceFailure;
import dev.beacon.runner.core.provider.InferenceRequest;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.ContextView;
import reactor.util.retry.Retry;

/**
 * Runs one cell to a terminal result: the endpoint's providers in order, each with retries for
 * transient failures, all within {@code min(executionTimeout, jobDeadline - now)}.
 * A failure of the cell is data (a FAILED or TIMED_OUT result), never an error of the job.
 */
final class CellExecutor {

    private static final Logger log = LoggerFactory.getLogger(CellExecutor.class);

    private final EndpointLanes lanes;
    private final RetryPolicy retryPolicy;
    private final ReceiptSigner signer;
    private final Clock clock;
    private final Scheduler scheduler;
    private final DoubleSupplier random;
    private final EngineMetrics metrics;
    private final EngineObservations observations;

    CellExecutor(EndpointLanes lanes, RetryPolicy retryPolicy, ReceiptSigner signer, Clock clock, Scheduler scheduler,
                 @Nullable DoubleSupplier random,
                 EngineMetrics metrics, EngineObservations observations) {
        this.lanes = lanes;
        this.retryPolicy = retryPolicy;
        this.signer = signer;
        this.clock = clock;
        this.scheduler = scheduler;
        this.random = random == null ? () -> ThreadLocalRandom.current().nextDouble() : random;
        this.metrics = metrics;
        this.observations = observations;
    }

    /**
     * Executes one cell.
     *
     * <p>Always emits exactly one result and never errors: provider failures, timeouts and open
     * circuits become FAILED or TIMED_OUT results. On cancel (job cancelled or timed out) the
     * in-flight exchange is cancelled, its connection closed, and nothing is emitted; the caller
     * stores the cell's terminal row using {@code progress}.
     *
     * <p>The cell runs inside a {@code beacon.execution} observation, with its question, model and
     * region in the MDC context.
     */
    Mono<ExecutionResult> execute(JobId jobId, Cell cell, String prompt, InferenceParams params, JobLimits limits, CellProgress progress) {
        Mono<ExecutionResult> execution = run(jobId, cell, prompt, params, limits, progress);
        return observations.execution(cell, progress, execution)
                .contextWrite(ctx -> LogContext.with(ctx, RunnerObservability.QUESTION_ID, cell.questionId(),
                        RunnerObservability.MODEL, cell.endpoint().model(), RunnerObservability.REGION, cell.endpoint().region()));
    }

    private Mono<ExecutionResult> run(JobId jobId, Cell cell, String prompt, InferenceParams params, JobLimits limits, CellProgress progress) {
        return Mono.deferContextual(ctx -> {
            Instant now = clock.instant();
            Duration budget = limits.executionTimeout();
            var deadline = JobDeadline.from(ctx);
            if (deadline.isPresent()) {
                Duration left = Duration.between(now, deadline.get());
                budget = left.compareTo(budget) < 0 ? left : budget;
            }
            if (budget.isNegative() || budget.isZero()) {
                return Mono.just(ExecutionResult.notRun(cell, ExecutionStatus.TIMED_OUT,
                        new ExecutionError(ExecutionError.JOB_TIMEOUT, "job deadline passed before the cell started"), now));
            }
            Instant executionDeadline = now.plus(budget);
            Duration timeout = budget;
            List<ProviderLane> providers = lanes.lanesOf(cell.endpoint());
            InferenceRequestTemplate template = new InferenceRequestTemplate(cell, prompt, params);
            return tryProvider(ctx, providers, 0, template, limits.maxAttempts(), executionDeadline, progress)
                    .map(done -> succeeded(jobId, cell, done, progress))
                    .timeout(timeout, scheduler)
                    .onErrorResume(e -> Mono.just(failed(ctx, jobId, cell, e, timeout, progress, template, providers)));
        });
    }

    private Mono<Attempted> tryProvider(ContextView context, List<ProviderLane> providers, int index, InferenceRequestTemplate template,
                                        int maxAttempts, Instant executionDeadline, CellProgress progress) {
        ProviderLane lane = providers.get(index);
        InferenceRequest request = template.forProvider(lane);
        Mono<Attempted> attempts = Mono.defer(() -> {
                    progress.attemptStarted(lane.id(), clock.instant());
                    return lane.attempt(request);
                })
                .map(output -> new Attempted(lane.id(), request, output))
                .retryWhen(retryTransient(context, lane, maxAttempts, executionDeadline));
        if (index + 1 >= providers.size()) {
            return attempts;
        }
        // Fall back to the next provider of the same model in the same region only.
        return attempts.onErrorResume(InferenceFailure.class, failure -> {
            LogContext.log(context, () -> log.debug("provider {} failed for {}: {}; trying the next provider",
                    lane.id(), template.cell(), failure.code()));
            return tryProvider(context, providers, index + 1, template, maxAttempts, executionDeadline, progress);
        });
    }

    private Retry retryTransient(ContextView context, ProviderLane lane, int maxAttempts, Instant executionDeadline) {
        return Retry.from(signals -> signals.concatMap(signal -> {
            Throwable failure = signal.failure();
            long retryNumber = signal.totalRetries() + 1;
            if (!(failure instanceof InferenceFailure f) || !f.retryable() || retryNumber >= maxAttempts) {
                return Mono.error(failure);
            }
            Duration delay = retryPolicy.backoff(retryNumber, random.getAsDouble());
            if (f.retryAfter().isPresent() && f.retryAfter().get().compareTo(delay) > 0) {
                delay = f.retryAfter().get();
            }
            if (clock.instant().plus(delay).isAfter(executionDeadline)) {
                // A retry that could only start after the deadline is pointless: report the failure now.
                return Mono.error(failure);
            }
            Duration wait = delay;
            LogContext.log(context, () -> log.debug("retrying provider {} in {} after {}", lane.id(), wait, f.code()));
            metrics.retried(lane);
            return Mono.delay(delay, scheduler);
        }));
    }

    private ExecutionResult succeeded(JobId jobId, Cell cell, Attempted done, CellProgress progress) {
        Instant completed = clock.instant();
        Instant started = progress.startedAt() == null ? completed : progress.startedAt();
        String requestSha = ReceiptSigner.sha256Hex(done.request().canonicalText());
        String outputSha = ReceiptSigner.sha256Hex(done.output().text());
        Receipt receipt = signer.sign(jobId, cell, done.providerId(), requestSha, outputSha);
        return new ExecutionResult(cell, done.providerId(), ExecutionStatus.SUCCEEDED, progress.attempts(), started, completed,
                Duration.between(started, completed).toMillis(), done.output(), null, receipt);
    }

    /**
     * The result of a cell whose every attempt failed, signed like an answer: the request hash is that
     * of the request its last provider was sent, the output hash that of no answer.
     */
    private ExecutionResult failed(ContextView context, JobId jobId, Cell cell, Throwable e, Duration timeout, CellProgress progress,
                                   InferenceRequestTemplate template, List<ProviderLane> providers) {
        Instant completed = clock.instant();
        Instant started = progress.startedAt();
        Long latency = started == null ? null : Duration.between(started, completed).toMillis();
        ExecutionStatus status;
        ExecutionError error;
        if (e instanceof TimeoutException) {
            status = ExecutionStatus.TIMED_OUT;
            error = new ExecutionError(ExecutionError.TIMEOUT, "no answer within the execution timeout of " + timeout);
        } else if (e instanceof InferenceFailure f) {
            status = ExecutionError.TIMEOUT.equals(f.code()) ? ExecutionStatus.TIMED_OUT : ExecutionStatus.FAILED;
            error = f.toError();
        } else {
            LogContext.log(context, () -> log.warn("unexpected failure executing {}", cell, e));
            status = ExecutionStatus.FAILED;
            // The stack trace is in the log above; the stored message says no more than that it was ours.
            error = new ExecutionError(ExecutionError.INTERNAL, "unexpected internal error");
        }
        Receipt receipt = null;
        String triedId = progress.providerId();
        ProviderLane tried = providers.stream().filter(lane -> lane.id().equals(triedId)).findFirst().orElse(null);
        if (tried != null) {
            String requestSha = ReceiptSigner.sha256Hex(template.forProvider(tried).canonicalText());
            receipt = signer.sign(jobId, cell, tried.id(), requestSha, Sha256.OF_EMPTY);
        }
        return new ExecutionResult(cell, progress.providerId(), status, progress.attempts(), started, completed, latency, null, error, receipt);
    }

    /**
     * The request of a cell, before the provider's own model name is filled in: the system prompt
     * with {@code {region}} expanded to the endpoint's region, and {@code seed + sample} as the seed
     * when the job sets one, so samples differ and stay reproducible.
     */
    private record InferenceRequestTemplate(Cell cell, String prompt, InferenceParams params) {
        InferenceRequest forProvider(ProviderLane lane) {
            String model = lane.config().remoteModel() != null ? lane.config().remoteModel() : cell.endpoint().model();
            String region = cell.endpoint().region();
            String system = params.systemPrompt() == null ? null : params.systemPrompt().replace(InferenceParams.REGION_PLACEHOLDER, region);
            Long seed = params.seed() == null ? null : params.seed() + cell.sample();
            return new InferenceRequest(model, region, system, prompt, params.temperature(), params.maxTokens(), seed, cell.sample());
        }
    }

    private record Attempted(String providerId, InferenceRequest request, InferenceOutput output) {
    }
}
