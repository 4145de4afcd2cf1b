package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * The reference job (8 questions × 8 endpoints) through the real engine and HTTP clients against a
 * real loopback server speaking the {@code openai} protocol: each region has its own latency, and
 * the server itself records what it sees — requests in flight, questions overlapping, disconnects.
 */
class ReferenceJobOverLoopbackTest {

    private static final Pattern QUESTION = Pattern.compile("question number (\\d+)");
    private static final Map<String, Integer> LATENCY_MS = Map.of("us", 40, "eu", 80, "asia", 120);

    private DisposableServer server;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger peakInFlight = new AtomicInteger();
    private final AtomicInteger disconnectedMidRequest = new AtomicInteger();
    private final List<Integer> questionOfEachRequest = new CopyOnWriteArrayList<>();
    private final AtomicInteger overlappingQuestions = new AtomicInteger();
    private volatile int questionInProgress = -1;
    private final AtomicInteger answeredOfQuestion = new AtomicInteger();
    /** Requests of this question are never answered (until the client gives up on them); -1 for none. */
    private volatile int heldQuestion = -1;
    private InferenceClients clients;

    @BeforeEach
    void startServer() {
        server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.post("/{region}/v1/chat/completions", (req, res) -> req.receive().aggregate().asString().flatMap(body -> {
                    String region = req.param("region");
                    Matcher m = QUESTION.matcher(body);
                    int question = m.find() ? Integer.parseInt(m.group(1)) : -1;
                    questionOfEachRequest.add(question);
                    noteQuestionStarted(question);
                    peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    String answer = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"answer from " + region
                            + " to " + question + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}";
                    Mono<Long> latency = question == heldQuestion ? Mono.never() : Mono.delay(Duration.ofMillis(LATENCY_MS.get(region)));
                    return latency
                            .doOnCancel(disconnectedMidRequest::incrementAndGet)
                            .doFinally(s -> inFlight.decrementAndGet())
                            // Counted before the answer is sent: the client cannot have it any earlier.
                            .doOnSuccess(v -> answeredOfQuestion.incrementAndGet())
                            .then(res.header("Content-Type", "application/json").sendString(Mono.just(answer)).then());
                }).then()))
                .bindNow();
        clients = new InferenceClients();
    }

    /** A new question may only begin once every cell of the previous one was answered. */
    private synchronized void noteQuestionStarted(int question) {
        if (questionInProgress != question) {
            if (questionInProgress >= 0 && answeredOfQuestion.get() < 8) {
                overlappingQuestions.incrementAndGet();
            }
            questionInProgress = question;
            answeredOfQuestion.set(0);
        }
    }

    @AfterEach
    void stopServer() {
        clients.close();
        server.disposeNow();
    }

    @Test
    void referenceJobStoresAll64AnswersQuestionByQuestion() {
        Fixture f = new Fixture();
        List<StoredEvent> events = f.runner.run(JobRun.fresh(f.plan)).collectList().block(Duration.ofSeconds(60));

        List<ExecutionResult> all = f.journal.executions(f.plan.jobId()).collectList().block();
        assertThat(all).filteredOn(r -> r.status() != ExecutionStatus.SUCCEEDED).isEmpty();
        assertThat(events).last().satisfies(e -> assertThat(((JobEvent.JobFinished) e.event()).status()).isEqualTo(JobStatus.SUCCEEDED));
        List<ExecutionResult> rows = f.journal.executions(f.plan.jobId()).collectList().block();
        assertThat(rows).hasSize(64).allMatch(r -> r.status() == ExecutionStatus.SUCCEEDED
                && r.output().text().equals("answer from " + r.cell().endpoint().region() + " to " + r.cell().questionId().substring(1)));
        assertThat(overlappingQuestions.get()).isZero();
        assertThat(questionOfEachRequest).hasSize(64).isSorted();
        assertThat(peakInFlight.get()).isLessThanOrEqualTo(8);
    }

    @Test
    void cancellingMidQuestionLeavesNoRequestRunningOnTheServer() {
        // Question 3 is never answered: the job cannot go past it, so the requests the server has seen
        // when the cancel is sent are all the job can send unless the cancel is ignored.
        heldQuestion = 3;
        Fixture f = new Fixture();
        Sinks.One<Boolean> cancel = Sinks.one();
        List<StoredEvent> events = new CopyOnWriteArrayList<>();
        f.runner.run(new JobRun(f.plan, List.of(), null, cancel.asMono())).subscribe(events::add);

        await().atMost(Duration.ofSeconds(30)).until(() -> questionOfEachRequest.size() == 32 && inFlight.get() == 8);
        int requestsAtCancel = questionOfEachRequest.size();
        cancel.tryEmitValue(true);
        await().atMost(Duration.ofSeconds(30)).until(() -> events.stream().anyMatch(StoredEvent::isTerminal));

        await().atMost(Duration.ofSeconds(30)).until(() -> inFlight.get() == 0);
        // The client closed the connection of every request of question 3; the server answered none of them.
        assertThat(disconnectedMidRequest.get()).isEqualTo(8);
        JobEvent.JobFinished finished = (JobEvent.JobFinished) events.get(events.size() - 1).event();
        assertThat(finished.status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(finished.counts().pending()).isZero();
        assertThat(finished.counts().succeeded()).isEqualTo(24);
        assertThat(finished.counts().cancelled()).isEqualTo(40);
        assertThat(f.journal.executions(f.plan.jobId()).collectList().block()).hasSize(64);
        // Nothing new was sent after the cancel: no request of a later question, no retry of a cancelled one.
        assertThat(questionOfEachRequest).hasSize(requestsAtCancel);
        assertThat(questionOfEachRequest).doesNotContain(4, 5, 6, 7);
    }

    private final class Fixture {
        final InMemoryJobJournal journal = new InMemoryJobJournal(Clock.systemUTC());
        final JobRunner runner;
        final ExecutionPlan plan;

        Fixture() {
            List<ModelSelection> models = EngineFixture.referenceModels();
            EndpointCatalog catalog = EngineFixture.loopbackCatalog(server.port());
            runner = JobRunner.builder().endpoints(catalog).clients(clients).journal(journal).build();
            List<Question> questions = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                questions.add(new Question("q" + i, "question number " + i));
            }
            JobSpec spec = new JobSpec("reference", questions, models, InferenceParams.DEFAULT,
                    new JobLimits(10, Duration.ofSeconds(30), Duration.ofMinutes(5), 3), 0.67, Map.of());
            JobId id = JobId.random();
            plan = new ExecutionPlanner(catalog).plan(id, spec);
            journal.register(id, plan.cellCount());
        }
    }
}
