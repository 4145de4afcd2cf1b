package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.service.JobService;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.store.JobStore;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import reactor.core.publisher.Flux;

/**
 * A client that goes away in the middle of an export stops it: the rows stream the handler reads from
 * the store is cancelled, and the store is asked for no more pages. The job's CSV (about 20 MB) is far
 * more than the loopback socket buffers hold, so a server that ignored the disconnect would read every
 * row.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "beacon.runner.dispatcher.enabled=false")
@Import(ExportDisconnectTest.Counting.class)
class ExportDisconnectTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int QUESTIONS = 500;
    /** An answer of 4 KB: 500 questions × 2 regions × 5 samples make 20 MB of CSV. */
    private static final String ANSWER = "word, \"quoted\" ".repeat(256);

    @LocalServerPort
    int port;

    @Autowired
    JobStore store;

    @Autowired
    ReadsCounter reads;

    @Test
    void aClientThatDisconnectsMidExportStopsTheReadsFromTheStore() throws Exception {
        StringBuilder questions = new StringBuilder();
        for (int q = 0; q < QUESTIONS; q++) {
            questions.append(q == 0 ? "" : ",").append("{\"id\":\"q").append(q).append("\",\"text\":\"Question ").append(q).append("?\"}");
        }
        RawHttp.Response submitted = new RunnerClient(port, "", null).submit("""
                {"questions": [%s], "models": [{"id": "llama3.2-1b", "regions": ["us", "eu"]}], "samples": 5}""".formatted(questions), null);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        JobId id = new JobId(UUID.fromString(submitted.json().path("id").asString()));
        // The dispatcher is off: the job stays queued while its rows are stored here, as a run would store them.
        List<Cell> cells = CellLayout.cells(store.find(id).block(WAIT).spec());
        Instant at = Instant.parse("2026-12-01T10:00:00Z");
        Flux.fromIterable(cells)
                .flatMap(cell -> store.append(id, new JobEvent.ExecutionFinished(new ExecutionResult(cell, "sim-" + cell.endpoint().region(),
                        ExecutionStatus.SUCCEEDED, 1, at, at, 1L, new InferenceOutput(ANSWER, "stop", new TokenUsage(1, 1)), null, null))), 64)
                .blockLast(WAIT);

        try (Socket socket = new Socket("localhost", port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET /jobs/" + id + "/executions?format=csv HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] first = in.readNBytes(64 * 1024);
            assertThat(new String(first, StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200");
        } // closed with most of the export unread

        Awaitility.await("the export's row stream is cancelled").atMost(WAIT).untilTrue(reads.cancelled);
        int readAtCancel = reads.rows.get();
        assertThat(reads.completed).as("the export never ran to its end").isFalse();
        assertThat(readAtCancel).as("rows read before the cancel").isLessThan(cells.size() / 2);
    }

    /** Counts the rows of every export the handlers read through the service, and sees how each ends. */
    static final class ReadsCounter {
        final AtomicInteger rows = new AtomicInteger();
        final AtomicBoolean cancelled = new AtomicBoolean();
        volatile boolean completed;
    }

    @TestConfiguration
    static class Counting {

        @Bean
        ReadsCounter readsCounter() {
            return new ReadsCounter();
        }

        /** Wraps the job service so that its {@code executions} stream is observed on its way to the handler. */
        @Bean
        static BeanPostProcessor countingJobService(org.springframework.beans.factory.ObjectProvider<ReadsCounter> counter) {
            return new BeanPostProcessor() {
                @Override
                public Object postProcessAfterInitialization(Object bean, String name) {
                    if (!(bean instanceof JobService service)) {
                        return bean;
                    }
                    return Proxy.newProxyInstance(JobService.class.getClassLoader(), new Class<?>[] {JobService.class}, (proxy, method, args) -> {
                        Object result;
                        try {
                            result = method.invoke(service, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                        if (method.getName().equals("executions")) {
                            ReadsCounter c = counter.getObject();
                            return ((Flux<?>) result).doOnNext(row -> c.rows.incrementAndGet())
                                    .doOnCancel(() -> c.cancelled.set(true))
                                    .doOnComplete(() -> c.completed = true);
                        }
                        return result;
                    });
                }
            };
        }
    }
}
