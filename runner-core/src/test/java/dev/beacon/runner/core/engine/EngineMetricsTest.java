package dev.beacon.runner.core.engine;

import static dev.beacon.runner.core.engine.EngineFixture.limits;
import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.provider.InferenceFailure;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The engine's meters after real jobs in virtual time: counts per model, region, provider and status, never per job. */
class EngineMetricsTest {

    private static final Duration HOUR = Duration.ofHours(1);

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @Test
    void executionsAttemptsAndRetriesAreCountedPerModelRegionProviderAndStatus() {
        // us endpoints fail twice with 503, then answer; mistral@asia refuses for good.
        EngineFixture f = new EngineFixture(1, 10, (provider, req, attempt) -> {
            if (req.region().equals("us") && attempt < 3) {
                return ScriptedClient.Step.fail(100, InferenceFailure.forStatus(503, "busy", null));
            }
            if (req.model().equals("mistral-7b") && req.region().equals("asia")) {
                return ScriptedClient.Step.fail(100, InferenceFailure.forStatus(400, "bad request", null));
            }
            return ScriptedClient.Step.answer(100);
        }, RetryPolicy.DEFAULT, b -> b.meterRegistry(meters));
        ExecutionPlan plan = f.plan(2, limits(10, Duration.ofMinutes(2), HOUR, 3));
        run(f, plan);

        assertThat(executions("llama3.2-1b", "us", "SUCCEEDED").count()).isEqualTo(2);
        assertThat(executions("llama3.2-1b", "eu", "SUCCEEDED").count()).isEqualTo(2);
        assertThat(executions("mistral-7b", "asia", "FAILED").count()).isEqualTo(2);
        assertThat(meters.find("beacon.executions").tag("status", "SUCCEEDED").timers().stream().mapToLong(Timer::count).sum()).isEqualTo(14);
        // Each us cell: first attempt, two retries. The 400 is permanent: one attempt, no retry.
        assertThat(counter("beacon.execution.attempts", "llama3.2-1b", "us")).isEqualTo(6);
        assertThat(counter("beacon.execution.retries", "llama3.2-1b", "us")).isEqualTo(4);
        assertThat(counter("beacon.execution.retries", "qwen2.5-1.5b", "us")).isEqualTo(4);
        assertThat(counter("beacon.execution.attempts", "mistral-7b", "asia")).isEqualTo(2);
        assertThat(counter("beacon.execution.retries", "mistral-7b", "asia")).isZero();
        assertThat(counter("beacon.execution.retries", "llama3.2-1b", "eu")).isZero();
        // Every attempt passed the gate, without waiting: nothing else was using the providers.
        Timer wait = queueWait("llama3.2-1b", "us");
        assertThat(wait.count()).isEqualTo(6);
        assertThat(wait.max(TimeUnit.MILLISECONDS)).isZero();

        assertThat(meters.get("beacon.jobs.finished").tag("status", "PARTIAL").counter().count()).isEqualTo(1);
        assertThat(meters.get("beacon.jobs.active").gauge().value()).isZero();
        assertThat(meters.get("beacon.question.duration").timer().count()).isEqualTo(2);
        assertThat(meters.get("beacon.question.gap").timer().count()).isEqualTo(1);

        // Cardinality is bounded by configuration: no job or question id anywhere in a tag.
        assertThat(meters.getMeters()).flatExtracting(m -> m.getId().getTags()).extracting(Tag::getKey)
                .doesNotContain("jobId", "job", "questionId", "question");
        assertThat(meters.getMeters()).flatExtracting(m -> m.getId().getTags()).extracting(Tag::getValue)
                .noneMatch(v -> v.contains(plan.jobId().toString()) || v.matches("q\\d+"));
    }

    @Test
    void callsWaitingForAProviderPermitRecordTheirQueueWait() {
        // One call at a time per provider, shared by two jobs started together: the second job's calls wait 100 ms.
        EngineFixture f = new EngineFixture(1, 1, (provider, req, attempt) -> ScriptedClient.Step.answer(100),
                RetryPolicy.DEFAULT, b -> b.meterRegistry(meters));
        ExecutionPlan first = f.plan(1, limits(10, Duration.ofMinutes(2), HOUR, 3));
        ExecutionPlan second = f.plan(1, limits(10, Duration.ofMinutes(2), HOUR, 3));
        AtomicInteger completed = new AtomicInteger();
        f.runner.run(JobRun.fresh(first)).subscribe(e -> { }, e -> { }, completed::incrementAndGet);
        f.runner.run(JobRun.fresh(second)).subscribe(e -> { }, e -> { }, completed::incrementAndGet);
        f.scheduler.advanceTimeBy(Duration.ofSeconds(1));
        assertThat(completed).as("both jobs completed").hasValue(2);

        for (String model : EngineFixture.REFERENCE_MODELS.keySet()) {
            for (String region : EngineFixture.REFERENCE_MODELS.get(model)) {
                Timer wait = queueWait(model, region);
                assertThat(wait.count()).as("%s@%s", model, region).isEqualTo(2);
                assertThat(wait.totalTime(TimeUnit.MILLISECONDS)).as("%s@%s", model, region).isEqualTo(100);
                assertThat(wait.max(TimeUnit.MILLISECONDS)).isEqualTo(100);
            }
        }
        assertThat(meters.get("beacon.jobs.finished").tag("status", "SUCCEEDED").counter().count()).isEqualTo(2);
    }

    @Test
    void perProviderMetersExistBeforeTheFirstJob() {
        new EngineFixture(1, 4, (provider, req, attempt) -> ScriptedClient.Step.answer(1), RetryPolicy.DEFAULT, b -> b.meterRegistry(meters));

        assertThat(meters.find("beacon.execution.retries").counters()).hasSize(8);
        assertThat(meters.find("beacon.provider.queue.wait").timers()).hasSize(8)
                .allSatisfy(t -> assertThat(t.getId().getTags()).extracting(Tag::getKey).containsExactlyInAnyOrder("model", "region", "provider"));
        assertThat(meters.find("beacon.provider.inflight").gauges()).hasSize(8);
        assertThat(meters.getMeters()).extracting(Meter::getId).extracting(Meter.Id::getName).contains("beacon.jobs.active");
    }

    private Timer executions(String model, String region, String status) {
        return meters.get("beacon.executions").tag("model", model).tag("region", region).tag("status", status).timer();
    }

    private double counter(String name, String model, String region) {
        return meters.get(name).tag("model", model).tag("region", region).counter().count();
    }

    private Timer queueWait(String model, String region) {
        return meters.get("beacon.provider.queue.wait").tag("model", model).tag("region", region).timer();
    }

    private static void run(EngineFixture f, ExecutionPlan plan) {
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicBoolean completed = new AtomicBoolean();
        f.runner.run(JobRun.fresh(plan)).subscribe(e -> { }, error::set, () -> completed.set(true));
        f.scheduler.advanceTimeBy(Duration.ofSeconds(30));
        assertThat(error.get()).as("error of the run").isNull();
        assertThat(completed).as("job completed").isTrue();
    }
}
