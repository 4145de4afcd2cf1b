package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.observe.RunnerObservability;
import dev.beacon.runner.core.plan.ExecutionPlan;
import dev.beacon.runner.core.plan.ExecutionPlanner;
import dev.beacon.runner.core.provider.InferenceClient;
import dev.beacon.runner.core.provider.InferenceClientFactory;
import dev.beacon.runner.core.provider.InferenceClients;
import dev.beacon.runner.core.provider.InferenceRequest;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * Log lines written while a job runs carry the job (and question, model, region, provider) in the
 * MDC through Reactor's automatic context propagation — also lines written on a Reactor Netty event
 * loop inside the provider call — and the execution observation is the current one while the
 * provider call is subscribed.
 */
class JobLogCorrelationTest {

    private static final Pattern QUESTION = Pattern.compile("question number (\\d+)");
    private static final org.slf4j.Logger providerLog = LoggerFactory.getLogger("dev.beacon.test.provider");

    private DisposableServer server;
    private InferenceClients clients;
    private final AtomicBoolean failedOnce = new AtomicBoolean();
    private final CapturingAppender appender = new CapturingAppender();
    private Logger beaconLogger;
    private Level previousLevel;
    private final RecordingObservationHandler observations = new RecordingObservationHandler();
    private final ObservationRegistry registry = ObservationRegistry.create();
    private final List<Subscribed> subscriptions = new CopyOnWriteArrayList<>();

    /** What was current when the engine subscribed to a provider call. */
    private record Subscribed(InferenceRequest request, Observation threadLocal, Observation inContext) {
    }

    @BeforeAll
    static void enablePropagation() {
        RunnerObservability.enableContextPropagation();
    }

    @AfterAll
    static void disablePropagation() {
        Hooks.disableAutomaticContextPropagation();
    }

    @BeforeEach
    void start() {
        registry.observationConfig().observationHandler(observations);
        server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.post("/{region}/v1/chat/completions", (req, res) -> req.receive().aggregate().asString().flatMap(body -> {
                    Matcher m = QUESTION.matcher(body);
                    int question = m.find() ? Integer.parseInt(m.group(1)) : -1;
                    // mistral@eu is busy once, on question 1: one transient failure, retried.
                    if (question == 1 && req.param("region").equals("eu") && body.contains("mistral-7b") && failedOnce.compareAndSet(false, true)) {
                        return res.status(503).sendString(Mono.just("busy")).then();
                    }
                    String answer = "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}";
                    return Mono.delay(Duration.ofMillis(20))
                            .then(res.header("Content-Type", "application/json").sendString(Mono.just(answer)).then());
                }).then()))
                .bindNow();
        clients = new InferenceClients();

        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        beaconLogger = logging.getLogger("dev.beacon");
        previousLevel = beaconLogger.getLevel();
        beaconLogger.setLevel(Level.INFO);
        beaconLogger.setAdditive(false);
        appender.setContext(logging);
        appender.start();
        beaconLogger.addAppender(appender);
    }

    @AfterEach
    void stop() {
        beaconLogger.detachAppender(appender);
        beaconLogger.setAdditive(true);
        beaconLogger.setLevel(previousLevel);
        clients.close();
        server.disposeNow();
    }

    @Test
    void everyLineOfAJobCarriesItsIdsEvenOnTheEventLoopInsideTheProviderCall() {
        Fixture f = new Fixture();
        String jobId = f.plan.jobId().toString();
        String testThread = Thread.currentThread().getName();

        List<StoredEvent> events = f.runner.run(JobRun.fresh(f.plan)).collectList().block(Duration.ofSeconds(30));
        assertThat(((JobEvent.JobFinished) events.get(events.size() - 1).event()).status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(MDC.get(RunnerObservability.JOB_ID)).as("nothing leaks into the caller's MDC").isNull();

        List<ILoggingEvent> lines = appender.list;
        // Lines written by the provider client after the HTTP response, on the event loop.
        List<ILoggingEvent> fromProvider = lines.stream().filter(e -> e.getLoggerName().equals("dev.beacon.test.provider")).toList();
        assertThat(fromProvider).hasSize(16).allSatisfy(e -> {
            Object[] args = e.getArgumentArray();
            Map<String, String> mdc = e.getMDCPropertyMap();
            assertThat(e.getThreadName()).startsWith("reactor-http-").isNotEqualTo(testThread);
            assertThat(mdc).containsEntry("jobId", jobId)
                    .containsEntry("questionId", "q" + args[2])
                    .containsEntry("model", (String) args[0])
                    .containsEntry("region", (String) args[1])
                    .containsEntry("provider", args[0] + "@" + args[1]);
        });

        // The transient failure is logged at INFO with its code and the cell's ids.
        assertThat(lines).filteredOn(e -> e.getLoggerName().equals(ProviderLane.class.getName())).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).contains("HTTP_503").doesNotContain("sk-test");
            assertThat(e.getMDCPropertyMap()).containsEntry("jobId", jobId).containsEntry("questionId", "q1")
                    .containsEntry("model", "mistral-7b").containsEntry("region", "eu").containsEntry("provider", "mistral-7b@eu");
        });

        // Every INFO line of the job carries its id; question lines carry the question, job lines none.
        assertThat(lines).filteredOn(e -> e.getLevel() == Level.INFO).hasSizeGreaterThan(20)
                .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).as(e.getFormattedMessage()).containsEntry("jobId", jobId));
        List<ILoggingEvent> engine = lines.stream().filter(e -> e.getLoggerName().equals(JobRunner.class.getName())).toList();
        assertThat(engine).filteredOn(e -> e.getMessage().contains("question {}/{}")).hasSize(4)
                .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry("questionId", String.valueOf(e.getArgumentArray()[3]))
                        .doesNotContainKeys("model", "region", "provider"));
        assertThat(engine).filteredOn(e -> e.getMessage().startsWith("job {} started") || e.getMessage().startsWith("job {} finished"))
                .hasSize(2).allSatisfy(e -> assertThat(e.getMDCPropertyMap()).doesNotContainKeys("questionId", "model", "region"));
    }

    @Test
    void withoutAutomaticPropagationTheEngineWritesItsOwnLinesWithTheirIds() {
        // Spring Boot's default (spring.reactor.context-propagation=limited), and the standalone
        // app's: only the engine's own lines carry the ids, written with them by LogContext.log.
        Hooks.disableAutomaticContextPropagation();
        try {
            Fixture f = new Fixture();
            String jobId = f.plan.jobId().toString();

            f.runner.run(JobRun.fresh(f.plan)).blockLast(Duration.ofSeconds(30));
            assertThat(MDC.get(RunnerObservability.JOB_ID)).as("nothing leaks into the caller's MDC").isNull();

            List<ILoggingEvent> engine = appender.list.stream().filter(e -> e.getLoggerName().startsWith("dev.beacon.runner")).toList();
            // job started and finished, two questions started and finished, mistral@eu's failed attempt.
            assertThat(engine).filteredOn(e -> e.getLevel() == Level.INFO).hasSize(7)
                    .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).as(e.getFormattedMessage()).containsEntry("jobId", jobId));
            assertThat(engine).filteredOn(e -> e.getMessage().contains("question {}/{}")).hasSize(4)
                    .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry("questionId", String.valueOf(e.getArgumentArray()[3]))
                            .doesNotContainKeys("model", "region", "provider"));
            assertThat(engine).filteredOn(e -> e.getLoggerName().equals(ProviderLane.class.getName())).singleElement()
                    .satisfies(e -> assertThat(e.getMDCPropertyMap()).containsEntry("jobId", jobId).containsEntry("questionId", "q1")
                            .containsEntry("model", "mistral-7b").containsEntry("region", "eu").containsEntry("provider", "mistral-7b@eu"));
            // Each line's values are the MDC only while it is written: the lines around it keep their own.
            assertThat(engine).filteredOn(e -> e.getMessage().startsWith("job {} started") || e.getMessage().startsWith("job {} finished"))
                    .hasSize(2).allSatisfy(e -> assertThat(e.getMDCPropertyMap()).doesNotContainKeys("questionId", "model", "region"));
            assertThat(appender.list).filteredOn(e -> e.getLoggerName().equals("dev.beacon.test.provider")).hasSize(16)
                    .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).as("other code's lines, without the hook").doesNotContainKey("jobId"));
        } finally {
            RunnerObservability.enableContextPropagation();
        }
    }

    @Test
    void theExecutionObservationIsCurrentWhileTheProviderCallIsSubscribed() {
        Fixture f = new Fixture();

        f.runner.run(JobRun.fresh(f.plan)).blockLast(Duration.ofSeconds(30));

        // 16 cells, one of them retried once.
        assertThat(subscriptions).hasSize(17).allSatisfy(s -> {
            assertThat(s.inContext()).isNotNull();
            assertThat(s.threadLocal()).as("thread-local current observation").isSameAs(s.inContext());
            Observation.Context execution = s.inContext().getContext();
            assertThat(execution.getName()).isEqualTo(RunnerObservability.EXECUTION_OBSERVATION);
            assertThat(RecordingObservationHandler.low(execution))
                    .containsEntry("model", s.request().model()).containsEntry("region", s.request().region());
            assertThat(RecordingObservationHandler.parentOf(execution).getName()).isEqualTo(RunnerObservability.QUESTION_OBSERVATION);
        });
        assertThat(observations.started(RunnerObservability.JOB_OBSERVATION)).hasSize(1);
        assertThat(registry.getCurrentObservation()).as("nothing leaks into the caller's thread").isNull();
    }

    @Test
    void providerHttpExchangesAreObservedAsChildrenOfTheirExecution() {
        // Reactor Netty reports its client exchanges to this registry (the Boot auto-configuration
        // sets the host's); with .metrics(true, …) on the provider client they nest under the
        // execution observation found in the Reactor context.
        ObservationRegistry previous = reactor.netty.Metrics.observationRegistry(registry);
        try {
            Fixture f = new Fixture();
            f.runner.run(JobRun.fresh(f.plan)).blockLast(Duration.ofSeconds(30));

            List<Observation.Context> exchanges = observations.started.stream()
                    .filter(c -> c.getName() != null && c.getName().contains("http.client")).toList();
            assertThat(exchanges).as("names: %s", observations.started.stream().map(Observation.Context::getName).distinct().toList())
                    .hasSizeGreaterThanOrEqualTo(16)
                    .allSatisfy(c -> assertThat(RecordingObservationHandler.parentOf(c)).isNotNull()
                            .extracting(Observation.Context::getName).isEqualTo(RunnerObservability.EXECUTION_OBSERVATION));
            // 16 cells, one retried: 17 responses, each tagged with the protocol route, not the full URL.
            assertThat(exchanges).filteredOn(c -> c.getName().endsWith("response.time")).hasSize(17)
                    .allSatisfy(c -> assertThat(RecordingObservationHandler.low(c)).containsEntry("uri", "/v1/chat/completions"));
        } finally {
            reactor.netty.Metrics.observationRegistry(previous);
        }
    }

    /** A list appender that snapshots each event's MDC on the thread that logged it. */
    private static final class CapturingAppender extends ListAppender<ILoggingEvent> {
        @Override
        protected void append(ILoggingEvent event) {
            event.prepareForDeferredProcessing();
            super.append(event);
        }
    }

    private final class Fixture {
        final InMemoryJobJournal journal = new InMemoryJobJournal(Clock.systemUTC());
        final JobRunner runner;
        final ExecutionPlan plan;

        Fixture() {
            List<ModelSelection> models = EngineFixture.referenceModels();
            EndpointCatalog catalog = EngineFixture.loopbackCatalog(server.port());
            InferenceClientFactory logging = (endpoint, provider) -> {
                InferenceClient real = clients.create(endpoint, provider);
                return request -> Mono.deferContextual(ctx -> {
                    subscriptions.add(new Subscribed(request, registry.getCurrentObservation(),
                            ctx.<Observation>getOrEmpty(ObservationThreadLocalAccessor.KEY).orElse(null)));
                    Matcher m = QUESTION.matcher(request.prompt());
                    String question = m.find() ? m.group(1) : "?";
                    return real.infer(request)
                            .doOnNext(output -> providerLog.info("{}@{} answered question {}", request.model(), request.region(), question));
                });
            };
            runner = JobRunner.builder().endpoints(catalog).clients(logging).journal(journal)
                    .observationRegistry(registry)
                    .retryPolicy(new RetryPolicy(Duration.ofMillis(10), Duration.ofMillis(50), 0))
                    .build();
            List<Question> questions = List.of(new Question("q0", "question number 0"), new Question("q1", "question number 1"));
            JobSpec spec = new JobSpec("correlation", questions, models, InferenceParams.DEFAULT,
                    new JobLimits(10, Duration.ofSeconds(20), Duration.ofMinutes(1), 3), 0.67, Map.of());
            JobId id = JobId.random();
            plan = new ExecutionPlanner(catalog).plan(id, spec);
            journal.register(id, plan.cellCount());
        }
    }
}
