package dev.beacon.runner.core.engine;

import static dev.beacon.runner.core.engine.EngineFixture.limits;
import static dev.beacon.runner.core.engine.RecordingObservationHandler.high;
import static dev.beacon.runner.core.engine.RecordingObservationHandler.low;
import static dev.beacon.runner.core.engine.RecordingObservationHandler.parentOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.observe.RunnerObservability;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.provider.InferenceFailure;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/** The engine's observations form one trace per job: job → question → execution, with bounded low-cardinality keys. */
class JobObservationsTest {

    private static final Duration HOUR = Duration.ofHours(1);

    private final RecordingObservationHandler handler = new RecordingObservationHandler();
    private final ObservationRegistry registry = ObservationRegistry.create();

    {
        registry.observationConfig().observationHandler(handler);
    }

    private EngineFixture fixture(EngineFixture.ProviderScript script) {
        return new EngineFixture(1, 10, script, RetryPolicy.DEFAULT, b -> b.observationRegistry(registry));
    }

    @Test
    void everyQuestionIsAChildOfItsJobAndEveryCellAChildOfItsQuestion() {
        EngineFixture f = fixture((provider, req, attempt) -> req.model().equals("mistral-7b") && req.region().equals("asia")
                ? ScriptedClient.Step.fail(50, InferenceFailure.forStatus(400, "bad request", null))
                : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(2, limits(10, Duration.ofMinutes(2), HOUR, 3));

        List<StoredEvent> events = run(f, f.runner.run(JobRun.fresh(plan)), Duration.ofSeconds(5));
        assertThat(((JobEvent.JobFinished) events.get(events.size() - 1).event()).status()).isEqualTo(JobStatus.PARTIAL);

        List<Observation.Context> jobs = handler.started(RunnerObservability.JOB_OBSERVATION);
        List<Observation.Context> questions = handler.started(RunnerObservability.QUESTION_OBSERVATION);
        List<Observation.Context> executions = handler.started(RunnerObservability.EXECUTION_OBSERVATION);
        assertThat(jobs).hasSize(1);
        assertThat(questions).hasSize(2);
        assertThat(executions).hasSize(16);
        assertThat(handler.stopped).containsExactlyInAnyOrderElementsOf(handler.started);

        Observation.Context job = jobs.get(0);
        assertThat(parentOf(job)).isNull();
        assertThat(low(job)).containsExactly(Map.entry("status", "PARTIAL"));
        assertThat(high(job)).containsEntry("jobId", plan.jobId().toString());

        assertThat(questions).allSatisfy(q -> assertThat(parentOf(q)).isSameAs(job));
        assertThat(questions).extracting(q -> high(q).get("questionId")).containsExactly("q0", "q1");
        assertThat(questions).extracting(q -> high(q).get("index")).containsExactly("0", "1");
        assertThat(questions).allSatisfy(q -> assertThat(low(q)).isEmpty());

        for (Observation.Context execution : executions) {
            Observation.Context question = parentOf(execution);
            assertThat(questions).contains(question);
            assertThat(high(execution)).containsEntry("questionId", high(question).get("questionId"));
            Map<String, String> low = low(execution);
            assertThat(low).containsOnlyKeys("model", "region", "provider", "status");
            assertThat(low.get("provider")).isEqualTo(low.get("model") + "-" + low.get("region") + "-0");
            boolean failing = low.get("model").equals("mistral-7b") && low.get("region").equals("asia");
            assertThat(low.get("status")).isEqualTo(failing ? "FAILED" : "SUCCEEDED");
        }
        // Each question's cells: all eight endpoints once.
        assertThat(executions.stream().filter(e -> parentOf(e) == questions.get(0)))
                .extracting(e -> low(e).get("model") + "@" + low(e).get("region")).doesNotHaveDuplicates().hasSize(8);
        // Nothing that grows with jobs is low-cardinality.
        assertThat(handler.started).allSatisfy(c -> assertThat(low(c).values())
                .noneMatch(v -> v.contains(plan.jobId().toString()) || v.matches("q\\d+")));
    }

    @Test
    void jobObservationIsAChildOfTheCallersObservation() {
        EngineFixture f = fixture((provider, req, attempt) -> ScriptedClient.Step.answer(10));
        ExecutionPlan plan = f.plan(1, limits(10, Duration.ofMinutes(2), HOUR, 3));
        Observation host = Observation.start("host.request", registry);

        run(f, f.runner.run(JobRun.fresh(plan)).contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, host)), Duration.ofSeconds(1));
        host.stop();

        assertThat(parentOf(handler.started(RunnerObservability.JOB_OBSERVATION).get(0))).isSameAs(host.getContext());
    }

    @Test
    void cancellingAJobStopsEveryObservationWithTheCancelledStatus() {
        EngineFixture f = fixture((provider, req, attempt) -> req.region().equals("asia")
                ? ScriptedClient.Step.answer(10_000) : ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(2, limits(10, Duration.ofMinutes(2), HOUR, 3));
        Sinks.One<Boolean> cancel = Sinks.one();
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        AtomicBoolean completed = new AtomicBoolean();
        f.runner.run(new JobRun(plan, List.of(), null, cancel.asMono())).subscribe(events::add, e -> {
        }, () -> completed.set(true));
        f.scheduler.advanceTimeBy(Duration.ofSeconds(1));
        cancel.tryEmitValue(true);
        f.scheduler.advanceTimeBy(Duration.ofSeconds(1));
        // A cancel request ends the run normally, with job.finished CANCELLED.
        assertThat(completed).isTrue();
        assertThat(((JobEvent.JobFinished) events.get(events.size() - 1).event()).status()).isEqualTo(JobStatus.CANCELLED);

        assertThat(handler.stopped).containsExactlyInAnyOrderElementsOf(handler.started);
        assertThat(low(handler.started(RunnerObservability.JOB_OBSERVATION).get(0))).containsEntry("status", "CANCELLED");
        List<Observation.Context> executions = handler.started(RunnerObservability.EXECUTION_OBSERVATION);
        // Only the first question ran: its five fast cells finished, its three asia cells were cut off.
        assertThat(executions).hasSize(8);
        assertThat(executions).filteredOn(e -> low(e).get("region").equals("asia"))
                .hasSize(3).allSatisfy(e -> assertThat(low(e)).containsEntry("status", "CANCELLED")
                        .containsEntry("provider", low(e).get("model") + "-asia-0"));
        assertThat(executions).filteredOn(e -> !low(e).get("region").equals("asia"))
                .hasSize(5).allSatisfy(e -> assertThat(low(e)).containsEntry("status", "SUCCEEDED"));
    }

    /** Runs {@code job} in virtual time; fails unless it completed (not errored) within {@code enough}. */
    private static List<StoredEvent> run(EngineFixture f, Flux<StoredEvent> job, Duration enough) {
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicBoolean completed = new AtomicBoolean();
        job.subscribe(events::add, error::set, () -> completed.set(true));
        f.scheduler.advanceTimeBy(enough);
        assertThat(error.get()).as("error of the run").isNull();
        assertThat(completed).as("job completed within %s", enough).isTrue();
        return events;
    }
}
