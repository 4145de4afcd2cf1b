package dev.beacon.runner.core.engine;

import static dev.beacon.runner.core.observe.RunnerObservability.EXECUTION_OBSERVATION;
import static dev.beacon.runner.core.observe.RunnerObservability.JOB_OBSERVATION;
import static dev.beacon.runner.core.observe.RunnerObservability.QUESTION_OBSERVATION;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.PlannedQuestion;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.ContextView;

/**
 * Wraps the engine's pipelines in Micrometer observations — job, question, execution — each the
 * child of the observation found in the Reactor context under {@link ObservationThreadLocalAccessor#KEY},
 * and each put there for everything it wraps, so a tracing bridge sees one trace per job and a
 * provider client's own observation nests under its execution.
 *
 * <p>Key values never hold anything that grows with jobs in the low-cardinality set: ids go in the
 * high-cardinality set only. With {@link ObservationRegistry#NOOP} the wrappers add nothing to the
 * context.
 */
final class EngineObservations {

    static final String STATUS = "status";
    /** Job status when the run ended without {@code job.finished}: error or cancel of the subscription. */
    static final String UNFINISHED = "UNFINISHED";
    static final String NO_PROVIDER = "none";

    private final ObservationRegistry registry;

    EngineObservations(ObservationRegistry registry) {
        this.registry = registry;
    }

    /**
     * Observes one run of a job; its {@code status} becomes the job's terminal status once
     * {@code job.finished} passes by.
     *
     * <p>On error the observation records the error and stops with status {@value #UNFINISHED}; on
     * cancel it stops with status {@value #UNFINISHED}.
     */
    Flux<StoredEvent> job(JobId jobId, Flux<StoredEvent> run) {
        return Flux.deferContextual(ctx -> {
            Observation observation = start(JOB_OBSERVATION, ctx, o -> o
                    .lowCardinalityKeyValue(STATUS, UNFINISHED)
                    .highCardinalityKeyValue("jobId", jobId.toString()));
            return within(observation, run.doOnNext(stored -> {
                if (stored.event() instanceof JobEvent.JobFinished finished) {
                    observation.lowCardinalityKeyValue(STATUS, finished.status().name());
                }
            }));
        });
    }

    /** Observes one question from its start event to its finish event; on error or cancel, stops with it. */
    Flux<StoredEvent> question(JobId jobId, PlannedQuestion question, Flux<StoredEvent> events) {
        return Flux.deferContextual(ctx -> {
            Observation observation = start(QUESTION_OBSERVATION, ctx, o -> o
                    .highCardinalityKeyValue("jobId", jobId.toString())
                    .highCardinalityKeyValue("questionId", question.question().id())
                    .highCardinalityKeyValue("index", Integer.toString(question.index())));
            return within(observation, events);
        });
    }

    /**
     * Observes one cell until its result; {@code provider} and {@code status} come from the result.
     *
     * <p>Cell execution never errors; on cancel (job cancelled or out of time) the observation stops
     * with status {@code CANCELLED} and the provider of the last attempt.
     */
    Mono<ExecutionResult> execution(Cell cell, CellProgress progress, Mono<ExecutionResult> execution) {
        return Mono.deferContextual(ctx -> {
            Observation observation = start(EXECUTION_OBSERVATION, ctx, o -> o
                    .lowCardinalityKeyValue("model", cell.endpoint().model())
                    .lowCardinalityKeyValue("region", cell.endpoint().region())
                    .lowCardinalityKeyValue("provider", NO_PROVIDER)
                    .lowCardinalityKeyValue(STATUS, ExecutionStatus.CANCELLED.name())
                    .highCardinalityKeyValue("questionId", cell.questionId()));
            Mono<ExecutionResult> reported = execution.doOnNext(result -> observation
                    .lowCardinalityKeyValue("provider", result.providerId() == null ? NO_PROVIDER : result.providerId())
                    .lowCardinalityKeyValue(STATUS, result.status().name()));
            Stopper stop = new Stopper(observation);
            Mono<ExecutionResult> observed = reported
                    .doOnSuccess(result -> stop.run())
                    .doOnCancel(() -> {
                        if (progress.providerId() != null) {
                            observation.lowCardinalityKeyValue("provider", progress.providerId());
                        }
                        stop.run();
                    });
            return current(observation, observed);
        });
    }

    private Observation start(String name, ContextView ctx, Consumer<Observation> keys) {
        Observation observation = Observation.createNotStarted(name, registry);
        Optional<Observation> parent = ctx.getOrEmpty(ObservationThreadLocalAccessor.KEY);
        parent.ifPresent(observation::parentObservation);
        keys.accept(observation);
        return observation.start();
    }

    /**
     * Makes {@code observation} the current one for {@code body} and stops it once, before the
     * terminal signal (or cancel) travels on, so the next sibling starts after this one stopped.
     */
    private static <T> Flux<T> within(Observation observation, Flux<T> body) {
        Stopper stop = new Stopper(observation);
        Flux<T> observed = body
                .doOnComplete(stop)
                .doOnError(e -> {
                    observation.error(e);
                    stop.run();
                })
                .doOnCancel(stop);
        return observation.isNoop() ? observed : observed.contextWrite(c -> c.put(ObservationThreadLocalAccessor.KEY, observation));
    }

    /** Makes {@code observation} the current one (in the Reactor context) for everything {@code body} subscribes. */
    private static <T> Mono<T> current(Observation observation, Mono<T> body) {
        return observation.isNoop() ? body : body.contextWrite(c -> c.put(ObservationThreadLocalAccessor.KEY, observation));
    }

    /** Stops an observation at most once, whichever of complete, error and cancel comes first. */
    private static final class Stopper implements Runnable {
        private final Observation observation;
        private final AtomicBoolean stopped = new AtomicBoolean();

        Stopper(Observation observation) {
            this.observation = observation;
        }

        @Override
        public void run() {
            if (stopped.compareAndSet(false, true)) {
                observation.stop();
            }
        }
    }
}
