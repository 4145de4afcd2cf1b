package dev.beacon.runner.core.engine;

import static dev.beacon.runner.core.engine.EngineFixture.limits;
import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.spec.InferenceParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Jobs with several samples: each cell asked once, sample-major within a question, questions still strictly in turn. */
class SampledJobTest {

    private static final Duration TWO_MINUTES = Duration.ofMinutes(2);
    private static final Duration HOUR = Duration.ofHours(1);
    private static final InferenceParams REGIONAL = new InferenceParams(0.7, 100, 42L, "You are an assistant based in {region}.");

    @Test
    void everyCellOfEverySampleIsAskedOnceAndStoredOnce() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(2, 3, REGIONAL, limits(10, TWO_MINUTES, HOUR, 3));
        assertThat(plan.cellCount()).isEqualTo(2 * 8 * 3);

        List<StoredEvent> events = f.runToEnd(plan, Duration.ofSeconds(30));

        List<ExecutionResult> rows = f.journal.executions(plan.jobId()).collectList().block();
        assertThat(rows).hasSize(48).allMatch(r -> r.status() == ExecutionStatus.SUCCEEDED);
        assertThat(rows.stream().map(ExecutionResult::cell).distinct()).hasSize(48);
        assertThat(f.allCalls()).hasSize(48);
        assertThat(f.allCalls().stream().map(c -> c.model() + "@" + c.region() + "|" + c.prompt() + "|" + c.sample()).distinct()).hasSize(48);
        JobEvent.QuestionFinished first = events.stream().map(StoredEvent::event)
                .filter(JobEvent.QuestionFinished.class::isInstance).map(JobEvent.QuestionFinished.class::cast).findFirst().orElseThrow();
        assertThat(first.counts().succeeded()).isEqualTo(24);
    }

    @Test
    void sampleSSendsSeedPlusSAndTheSystemPromptNamesTheEndpointsRegion() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(10));
        ExecutionPlan plan = f.plan(1, 4, REGIONAL, limits(10, TWO_MINUTES, HOUR, 3));

        f.runToEnd(plan, Duration.ofSeconds(30));

        assertThat(f.allCalls()).hasSize(32).allSatisfy(call -> {
            assertThat(call.seed()).isEqualTo(42L + call.sample());
            assertThat(call.systemPrompt()).isEqualTo("You are an assistant based in " + call.region() + ".");
        });
    }

    @Test
    void withoutASeedNoSeedIsSentForAnySample() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(10));
        ExecutionPlan plan = f.plan(1, 2, new InferenceParams(0.7, 100, null, "Plain {regio} braces stay."), limits(10, TWO_MINUTES, HOUR, 3));

        f.runToEnd(plan, Duration.ofSeconds(30));

        assertThat(f.allCalls()).hasSize(16).allSatisfy(call -> {
            assertThat(call.seed()).isNull();
            assertThat(call.systemPrompt()).isEqualTo("Plain {regio} braces stay.");
        });
    }

    @Test
    void withinAQuestionSampleZeroStartsAtEveryEndpointBeforeSampleOneAnywhere() {
        // Concurrency 4 over 8 endpoints × 3 samples: cells start in waves, and the order of starts is the plan's.
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(100));
        ExecutionPlan plan = f.plan(1, 3, REGIONAL, limits(4, TWO_MINUTES, HOUR, 3));

        f.runToEnd(plan, Duration.ofSeconds(30));

        List<ScriptedClient.Call> calls = new ArrayList<>(f.allCalls());
        calls.sort(Comparator.comparingLong(ScriptedClient.Call::startedAt));
        assertThat(f.peak.get()).isEqualTo(4);
        for (int sample = 1; sample < 3; sample++) {
            int s = sample;
            long lastStartOfPrevious = calls.stream().filter(c -> c.sample() == s - 1).mapToLong(ScriptedClient.Call::startedAt).max().orElseThrow();
            long firstStartOfThis = calls.stream().filter(c -> c.sample() == s).mapToLong(ScriptedClient.Call::startedAt).min().orElseThrow();
            assertThat(firstStartOfThis).as("sample %d starts after every start of sample %d", s, s - 1).isGreaterThanOrEqualTo(lastStartOfPrevious);
        }
    }

    @Test
    void theNextQuestionStartsOnlyWhenEverySampleOfThePreviousOneIsTerminal() {
        // asia answers slowly: question 1 must wait for the last asia sample of question 0.
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(req.region().equals("asia") ? 500 : 50));
        ExecutionPlan plan = f.plan(2, 2, REGIONAL, limits(10, TWO_MINUTES, HOUR, 3));

        f.runToEnd(plan, Duration.ofSeconds(30));

        var byQuestion = f.allCalls().stream().collect(Collectors.groupingBy(ScriptedClient.Call::prompt));
        long lastAnswerOfFirst = byQuestion.get("question number 0").stream()
                .mapToLong(c -> c.startedAt() + (c.region().equals("asia") ? 500 : 50)).max().orElseThrow();
        long firstStartOfSecond = byQuestion.get("question number 1").stream().mapToLong(ScriptedClient.Call::startedAt).min().orElseThrow();
        assertThat(firstStartOfSecond).isGreaterThanOrEqualTo(lastAnswerOfFirst);
    }

    @Test
    void aResumedRunAsksOnlyTheSamplesNotYetStored() {
        EngineFixture f = new EngineFixture(1, 10, (req, attempt) -> ScriptedClient.Step.answer(10));
        ExecutionPlan plan = f.plan(1, 3, REGIONAL, limits(10, TWO_MINUTES, HOUR, 3));
        ExecutionPlan probe = f.plan(1, 3, REGIONAL, limits(10, TWO_MINUTES, HOUR, 3));
        f.runToEnd(probe, Duration.ofSeconds(30));
        // Sample 1 of every endpoint is already stored for `plan` (copied from the probe's answers).
        List<ExecutionResult> stored = f.journal.executions(probe.jobId()).filter(r -> r.cell().sample() == 1).collectList().block();
        long resumedAt = f.scheduler.now(java.util.concurrent.TimeUnit.MILLISECONDS);

        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        AtomicBoolean completed = new AtomicBoolean();
        f.runner.run(new JobRun(plan, stored, null, reactor.core.publisher.Mono.never()))
                .subscribe(events::add, e -> { }, () -> completed.set(true));
        f.scheduler.advanceTimeBy(Duration.ofSeconds(30));

        assertThat(completed).isTrue();
        List<ScriptedClient.Call> asked = f.allCalls().stream().filter(c -> c.startedAt() >= resumedAt).toList();
        assertThat(asked).hasSize(16).noneMatch(c -> c.sample() == 1);
    }

}
