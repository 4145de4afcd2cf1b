package dev.beacon.runner.web.bench;

import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.web.BeaconRunnerApplication;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * The runner's performance table: the production application ({@link BeaconRunnerApplication}, its
 * auto-configuration, WebFlux, the {@code openai} client on Reactor Netty, the R2DBC store on an
 * embedded PostgreSQL) against a loopback inference server with a configurable latency. Prints one
 * markdown table and writes it as JSON to {@code target/bench/results.json}. Asserts nothing.
 *
 * <p>Run: {@code ./mvnw -q -Pbench -pl runner-web -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='*Benchmark'}
 */
@Tag("benchmark")
class RunnerSuiteBenchmark {

    static final String[][] ENDPOINTS = {{"llama3.2-1b", "us"}, {"llama3.2-1b", "eu"}, {"llama3.2-1b", "asia"},
            {"mistral-7b", "eu"}, {"mistral-7b", "asia"}, {"qwen2.5-1.5b", "us"}, {"qwen2.5-1.5b", "eu"}, {"qwen2.5-1.5b", "asia"}};
    static final int REFERENCE_RUNS = Integer.getInteger("bench.runs", 5);
    static final int MANY_JOBS = Integer.getInteger("bench.jobs", 500);
    static final int SUBSCRIBERS = Integer.getInteger("bench.subscribers", 1000);
    /** {@code -Dbench.db=h2}: the same suite on the embedded H2 default instead of PostgreSQL. */
    static final boolean ON_H2 = "h2".equals(System.getProperty("bench.db"));
    /** Jobs one instance runs at once; the default lets every job of the "many" scenario run together. */
    static final int CAPACITY = Integer.getInteger("bench.capacity", Math.max(MANY_JOBS, 4));
    static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([0-9a-f-]{36})\"");
    static final Pattern COMPLETED_AT = Pattern.compile("\"completedAt\"\\s*:\\s*\"([^\"]+)\"");

    // A fixed executor: the JDK client's default pool grows with concurrency, which would show up as
    // "live threads" of the runner.
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .executor(java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "bench-client");
                t.setDaemon(true);
                return t;
            })).build();
    final List<Row> rows = new ArrayList<>();
    LoopbackInference inference;
    String base;
    String jdbcUrl;
    String dbUser;

    /** One line of the table. {@code reference} and {@code ratio} may be NaN when the figure has none. */
    record Row(String scenario, String figure, String target, double median, String unit, double reference, double ratio,
               int runs, boolean met, String load, String note) {
    }

    @Test
    void performanceTable() throws Exception {
        try (LoopbackInference server = new LoopbackInference(); TestDatabases.Database db = ON_H2 ? TestDatabases.h2() : TestDatabases.postgres()) {
            inference = server;
            // The app's in-memory H2 database is reachable over JDBC in this JVM by its name.
            jdbcUrl = ON_H2 ? db.r2dbcUrl().replace("r2dbc:h2:mem:///", "jdbc:h2:mem:") : db.r2dbcUrl().replace("r2dbc:", "jdbc:");
            dbUser = db.user();
            try (ConfigurableApplicationContext app = start(db, server.port())) {
                base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
                guarded("reference", this::referenceJob);
                guarded("throughput", this::throughput);
                guarded("many jobs", this::manyJobs);
                guarded("sse", this::sse);
                guarded("cancel", this::cancel);
            }
        }
        guarded("start-up", this::startup);
        report();
    }

    // ------------------------------------------------------------------------------ scenarios

    /** 8 × 8 at 200 ms: wall (POST → job.finished on its event stream) ÷ 8 × 200 ms, and the server-side gaps. */
    void referenceJob() throws Exception {
        inference.latency(200);
        String job = jobJson("reference", 8);
        awaitFinished(submit(job)); // warm-up: JIT, connections, caches
        List<Double> ratios = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        String load = load();
        List<Double> toResult = new ArrayList<>();
        List<Double> toStored = new ArrayList<>();
        List<Double> toNext = new ArrayList<>();
        for (int run = 0; run < REFERENCE_RUNS; run++) {
            inference.resetMarks();
            long t0 = System.nanoTime();
            String id = submit(job);
            awaitFinished(id);
            ratios.add((System.nanoTime() - t0) / (8 * 200e6));
            for (int q = 0; q < 7; q++) {
                gaps.add((inference.firstRequestNanos.get(q + 1) - inference.lastAnswerNanos.get(q)) / 1e6);
                // Where the gap goes, from the runner's stored timestamps: the last answer leaves the
                // server -> the last result is made (completed_at) -> its execution.finished is written
                // (created_at, taken inside the commit transaction) -> the next question's first request arrives.
                if (ON_H2) {
                    continue; // the split reads stored JSON with PostgreSQL's operators
                }
                long[] marks = boundaryMarks(id, q);
                toResult.add((marks[0] - inference.lastAnswerMicros.get(q)) / 1e3);
                toStored.add((marks[1] - marks[0]) / 1e3);
                toNext.add((inference.firstRequestMicros.get(q + 1) - marks[1]) / 1e3);
            }
        }
        rows.add(new Row("reference job, 8 questions × 8 endpoints, 200 ms latency" + (ON_H2 ? ", H2" : ""), "wall time ÷ ideal (8 × 200 ms)", "≤ 1.03",
                median(ratios), "×", 1600, median(ratios), REFERENCE_RUNS, median(ratios) <= 1.03, load,
                "POST /jobs → job.finished on the job's SSE stream"));
        double p99 = percentile(gaps, 0.99);
        rows.add(new Row("same", "gap between questions, p99 (server-observed)", "≤ 5 ms", p99, "ms", Double.NaN, Double.NaN,
                REFERENCE_RUNS, p99 <= 5, load, ("%d gaps; median %.2f ms, max %.2f ms; median split: answer → result made %.2f ms,"
                + " → execution.finished written %.2f ms, → next request at the server %.2f ms").formatted(gaps.size(), percentile(gaps, 0.5),
                percentile(gaps, 1.0), median(toResult), median(toStored), median(toNext))));
    }

    /** Wall-clock micros of the last result of question {@code q} (completed_at) and of its last execution.finished event. */
    long[] boundaryMarks(String jobId, int q) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, null);
             var st = c.prepareStatement("SELECT (SELECT MAX(completed_at) FROM executions WHERE job_id = ?::uuid AND question_id = ?),"
                     + " (SELECT MAX(created_at) FROM job_events WHERE job_id = ?::uuid AND type = 'execution.finished'"
                     + " AND data->>'questionId' = ?)")) {
            st.setString(1, jobId);
            st.setString(2, "q" + q);
            st.setString(3, jobId);
            st.setString(4, "q" + q);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return new long[] {micros(rs.getObject(1, java.time.OffsetDateTime.class).toInstant()),
                        micros(rs.getObject(2, java.time.OffsetDateTime.class).toInstant())};
            }
        }
    }

    static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }

    /** One job of 500 × 8 at 0 ms, stored, against a bare Reactor Netty loop of the same requests and concurrency. */
    void throughput() throws Exception {
        inference.latency(0);
        int questions = 500;
        String job = jobJson("throughput", questions);
        LoopResources loops = LoopResources.create("bench-bare", 1, true);
        ConnectionProvider pool = ConnectionProvider.builder("bench-bare").maxConnections(64).build();
        reactor.netty.http.client.HttpClient bare = reactor.netty.http.client.HttpClient.create(pool).runOn(loops)
                .headers(h -> h.set("Content-Type", "application/json"));
        try {
            awaitFinished(submit(jobJson("throughput-warm", 50)));
            bareLoop(bare, 50);
            List<Double> engine = new ArrayList<>();
            List<Double> reference = new ArrayList<>();
            String load = load();
            int runs = 3;
            for (int run = 0; run < runs; run++) {
                long t0 = System.nanoTime();
                awaitFinished(submit(job));
                engine.add(questions * 8 / ((System.nanoTime() - t0) / 1e9));
                reference.add(bareLoop(bare, questions));
            }
            double e = median(engine);
            double r = median(reference);
            rows.add(new Row("one job, 500 questions × 8 endpoints, 0 ms latency, stored", "executions/s; ratio to a bare HttpClient loop",
                    "≥ 0.5", e, "exec/s", r, e / r, runs, e / r >= 0.5, load,
                    "bare loop: 500 rounds of 8 concurrent POSTs, Reactor Netty, no engine, no store"));
        } finally {
            pool.disposeLater().block(Duration.ofSeconds(5));
            loops.disposeLater().block(Duration.ofSeconds(5));
        }
    }

    /** Executions per second of the bare loop: {@code questions} rounds of 8 concurrent POSTs, one round after the other. */
    double bareLoop(reactor.netty.http.client.HttpClient client, int questions) {
        long t0 = System.nanoTime();
        Flux.range(0, questions)
                .concatMap(q -> Flux.range(0, ENDPOINTS.length).flatMap(e -> client.post()
                        .uri("http://127.0.0.1:" + inference.port() + "/v1/chat/completions")
                        .send(Mono.fromSupplier(() -> Unpooled.wrappedBuffer(requestBody(q, e))))
                        .responseSingle((res, body) -> body.asString()), ENDPOINTS.length))
                .blockLast(Duration.ofMinutes(5));
        return questions * ENDPOINTS.length / ((System.nanoTime() - t0) / 1e9);
    }

    /** N reference jobs submitted at once, 200 ms: wall ÷ ideal, peak heap, live threads (compared with N/10 jobs). */
    void manyJobs() throws Exception {
        inference.latency(200);
        Sample small = concurrentJobs("many-warm", MANY_JOBS / 10);
        List<Double> ratios = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        String load = load();
        int runs = 2;
        for (int run = 0; run < runs; run++) {
            Sample s = concurrentJobs("many-" + run, MANY_JOBS);
            samples.add(s);
            ratios.add(s.wallSeconds / 1.6);
        }
        double ratio = median(ratios);
        double heap = samples.stream().mapToDouble(s -> s.peakHeapMb).max().orElse(Double.NaN);
        double afterGc = samples.stream().mapToDouble(s -> s.peakAfterGcMb).max().orElse(Double.NaN);
        double submitted = median(samples.stream().map(s -> s.submittedSeconds).toList());
        double lastStarted = median(samples.stream().map(s -> s.lastStartedSeconds).toList());
        int threads = samples.stream().mapToInt(s -> s.peakThreads).max().orElse(0);
        rows.add(new Row(MANY_JOBS + " concurrent reference jobs, 200 ms latency", "wall time ÷ ideal (8 × 200 ms)", "≤ 1.25", ratio, "×",
                1600, ratio, runs, ratio <= 1.25, load, ("first POST → last finished_at; all %d POSTs answered after %.2f s (64 at a time),"
                + " last job.started after %.2f s (medians)").formatted(MANY_JOBS, submitted, lastStarted)));
        rows.add(new Row("same", "peak heap after GC (whole JVM: runner, server, clients)", "≤ 512 MB", afterGc, "MB", Double.NaN,
                Double.NaN, runs, afterGc <= 512, load, "peak used heap sampled every 20 ms, garbage included: %.0f MB (no -Xmx set)".formatted(heap)));
        rows.add(new Row("same", "peak live threads (harness excluded); with " + small.jobs + " jobs", "no growth with job count", threads, "threads",
                small.peakThreads, threads / (double) small.peakThreads, runs, threads <= small.peakThreads + 4, load,
                "reference = the same scenario with " + small.jobs + " jobs; threads only at the larger peak: " + extraThreads(small, samples)));
    }

    /** Thread names (digits dropped, counted) present at the larger runs' peak beyond those of the small run's peak. */
    static String extraThreads(Sample small, List<Sample> large) {
        java.util.Map<String, Long> before = small.threadNames().stream()
                .collect(java.util.stream.Collectors.groupingBy(n -> n.replaceAll("\\d+", "#"), java.util.stream.Collectors.counting()));
        Sample peak = large.stream().max(java.util.Comparator.comparingInt(Sample::peakThreads)).orElseThrow();
        java.util.Map<String, Long> after = peak.threadNames().stream()
                .collect(java.util.stream.Collectors.groupingBy(n -> n.replaceAll("\\d+", "#"), java.util.stream.Collectors.counting()));
        StringBuilder extra = new StringBuilder();
        after.forEach((name, n) -> {
            long more = n - before.getOrDefault(name, 0L);
            if (more > 0) {
                extra.append(extra.length() == 0 ? "" : ", ").append(more).append(" × ").append(name);
            }
        });
        return extra.length() == 0 ? "none" : extra.toString();
    }

    record Sample(int jobs, double wallSeconds, double peakHeapMb, int peakThreads, double peakAfterGcMb, double submittedSeconds,
                  double lastStartedSeconds, List<String> threadNames) {
    }

    Sample concurrentJobs(String name, int jobs) throws Exception {
        System.gc();
        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicLong peakHeap = new AtomicLong();
        AtomicLong peakAfterGc = new AtomicLong();
        java.util.concurrent.atomic.AtomicReference<List<String>> peakNames = new java.util.concurrent.atomic.AtomicReference<>(List.of());
        AtomicInteger peakThreads = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            var memory = ManagementFactory.getMemoryMXBean();
            while (sampling.get()) {
                peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                long afterGc = 0;
                for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getCollectionUsage() != null) {
                        afterGc += pool.getCollectionUsage().getUsed();
                    }
                }
                peakAfterGc.accumulateAndGet(afterGc, Math::max);
                // The runner's threads: everything but this harness's own (bench-*).
                List<String> names = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                        .filter(n -> !n.startsWith("bench-")).toList();
                if (names.size() > peakThreads.get()) {
                    peakThreads.set(names.size());
                    peakNames.set(names);
                }
                sleep(20);
            }
        }, "bench-sampler");
        sampler.setDaemon(true);
        sampler.start();
        String job = jobJson(name, 8);
        Instant t0 = Instant.now();
        try {
            Flux.range(0, jobs).flatMap(i -> Mono.fromFuture(() -> http.sendAsync(post("/jobs", job), HttpResponse.BodyHandlers.ofString())),
                    64).blockLast(Duration.ofMinutes(2));
            double submitted = Duration.between(t0, Instant.now()).toNanos() / 1e9;
            Instant[] last = awaitJobs(name, jobs, Duration.ofMinutes(5));
            return new Sample(jobs, Duration.between(t0, last[0]).toNanos() / 1e9, peakHeap.get() / (1024.0 * 1024), peakThreads.get(),
                    peakAfterGc.get() / (1024.0 * 1024), submitted, Duration.between(t0, last[1]).toNanos() / 1e9, peakNames.get());
        } finally {
            sampling.set(false);
            sampler.join();
        }
    }

    /** Waits until {@code count} jobs named {@code name} are terminal; returns the latest finished_at and started_at. */
    Instant[] awaitJobs(String name, int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, null)) {
            while (System.nanoTime() < deadline) {
                try (var st = c.prepareStatement("SELECT COUNT(*), MAX(finished_at), MAX(started_at) FROM jobs WHERE name = ? AND finished_at IS NOT NULL")) {
                    st.setString(1, name);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) >= count) {
                            return new Instant[] {rs.getObject(2, java.time.OffsetDateTime.class).toInstant(),
                                    rs.getObject(3, java.time.OffsetDateTime.class).toInstant()};
                        }
                    }
                }
                sleep(100);
            }
        }
        throw new IllegalStateException(name + ": jobs did not finish within " + timeout);
    }

    /** SUBSCRIBERS event streams on one job held at its first question; p99 of execution.finished delivery latency. */
    void sse() throws Exception {
        inference.latency(200);
        LoopResources loops = LoopResources.create("bench-sse", 1, true);
        ConnectionProvider pool = ConnectionProvider.builder("bench-sse").maxConnections(SUBSCRIBERS + 16)
                .pendingAcquireMaxCount(-1).build();
        reactor.netty.http.client.HttpClient client = reactor.netty.http.client.HttpClient.create(pool).runOn(loops);
        List<Double> p99s = new ArrayList<>();
        String load = load();
        int runs = 3;
        int samples = 0;
        try {
            for (int run = 0; run < runs; run++) {
                inference.hold();
                String id = submit(jobJson("sse", 8));
                ConcurrentLinkedQueue<Double> latencies = new ConcurrentLinkedQueue<>();
                AtomicInteger joined = new AtomicInteger();
                List<reactor.core.Disposable> streams = new ArrayList<>();
                CompletableFuture<?>[] done = new CompletableFuture<?>[SUBSCRIBERS];
                for (int i = 0; i < SUBSCRIBERS; i++) {
                    CompletableFuture<Void> finished = new CompletableFuture<>();
                    done[i] = finished;
                    StringBuilder buffer = new StringBuilder();
                    AtomicBoolean counted = new AtomicBoolean();
                    streams.add(client.headers(h -> h.set("Accept", "text/event-stream")).get().uri(base + "/jobs/" + id + "/events")
                            .responseContent().asString(StandardCharsets.UTF_8)
                            .subscribe(chunk -> {
                                long now = System.currentTimeMillis();
                                buffer.append(chunk);
                                int end;
                                while ((end = buffer.indexOf("\n\n")) >= 0) {
                                    String block = buffer.substring(0, end);
                                    buffer.delete(0, end + 2);
                                    if (counted.compareAndSet(false, true)) {
                                        joined.incrementAndGet();
                                    }
                                    if (block.contains("event:execution.finished")) {
                                        Matcher m = COMPLETED_AT.matcher(block);
                                        if (m.find()) {
                                            latencies.add((double) (now - Instant.parse(m.group(1)).toEpochMilli()));
                                        }
                                    } else if (block.contains("event:job.finished")) {
                                        finished.complete(null);
                                    }
                                }
                            }, finished::completeExceptionally, () -> finished.complete(null)));
                }
                waitUntil(() -> joined.get() >= SUBSCRIBERS, Duration.ofMinutes(2), "subscribers to join");
                inference.release();
                CompletableFuture.allOf(done).get(2, java.util.concurrent.TimeUnit.MINUTES);
                streams.forEach(reactor.core.Disposable::dispose);
                List<Double> sorted = new ArrayList<>(latencies);
                samples = sorted.size();
                p99s.add(percentile(sorted, 0.99));
            }
        } finally {
            inference.release();
            pool.disposeLater().block(Duration.ofSeconds(10));
            loops.disposeLater().block(Duration.ofSeconds(5));
        }
        double p99 = median(p99s);
        rows.add(new Row("SSE, " + SUBSCRIBERS + " subscribers on one running job", "delivery latency p99 (completedAt → client)",
                "≤ 100 ms", p99, "ms", Double.NaN, Double.NaN, runs, p99 <= 100, load,
                "%d execution.finished deliveries per run; subscribers joined before the first answer".formatted(samples)));
    }

    /** A job whose 8 calls of question 0 hang; POST cancel → every one of their connections closed, seen by the server. */
    void cancel() throws Exception {
        inference.latency(60_000);
        List<Double> millis = new ArrayList<>();
        String load = load();
        int runs = 5;
        try {
            for (int run = 0; run < runs; run++) {
                inference.resetMarks();
                int before = inference.inFlight.get();
                String id = submit(jobJson("cancel", 8));
                waitUntil(() -> inference.inFlight.get() >= before + 8, Duration.ofSeconds(30), "8 calls in flight");
                long t0 = System.nanoTime();
                HttpResponse<String> r = http.send(post("/jobs/" + id + "/cancel", ""), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 202) {
                    throw new IllegalStateException("cancel answered " + r.statusCode() + ": " + r.body());
                }
                waitUntil(() -> inference.abandonedCloses.size() >= 8, Duration.ofSeconds(30), "8 connections closed");
                long last = inference.abandonedCloses.stream().mapToLong(Long::longValue).max().orElseThrow();
                millis.add((last - t0) / 1e6);
                awaitFinished(id);
            }
        } finally {
            inference.latency(0);
        }
        double m = median(millis);
        rows.add(new Row("cancel during a question", "POST cancel → last in-flight connection closed (server-observed)", "≤ 100 ms",
                m, "ms", Double.NaN, Double.NaN, runs, m <= 100, load, "max of runs %.1f ms".formatted(Collections.max(millis))));
    }

    /** The standalone jar (else the application on this class path) on its embedded default: spawn → readiness UP. */
    void startup() throws Exception {
        Path jar = Path.of("target/beacon-runner.jar").toAbsolutePath();
        boolean useJar = Files.exists(jar);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Double> seconds = new ArrayList<>();
        String load = load();
        int runs = 3;
        for (int run = 0; run < runs; run++) {
            Path dir = Files.createTempDirectory("beacon-startup");
            int port = freePort();
            List<String> command = new ArrayList<>(List.of(java));
            if (useJar) {
                command.addAll(List.of("-jar", jar.toString()));
            } else {
                command.addAll(List.of("-cp", System.getProperty("java.class.path"), BeaconRunnerApplication.class.getName()));
            }
            command.add("--server.port=" + port);
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("out.log").toFile()).start();
            try {
                HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(2)).build();
                long deadline = t0 + Duration.ofMinutes(2).toNanos();
                while (true) {
                    if (!p.isAlive() || System.nanoTime() > deadline) {
                        throw new IllegalStateException("runner did not become ready; see " + dir.resolve("out.log"));
                    }
                    try {
                        if (http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                            break;
                        }
                    } catch (IOException notYet) {
                        // not listening yet
                    }
                    sleep(20);
                }
                seconds.add((System.nanoTime() - t0) / 1e9);
            } finally {
                p.destroy();
                p.waitFor();
            }
        }
        rows.add(new Row("start-up of the standalone " + (useJar ? "jar" : "app (class path; no jar built)") + " on the embedded default",
                "spawn → /actuator/health/readiness UP", "report", median(seconds), "s", Double.NaN, Double.NaN, runs, true, load,
                useJar ? "java -jar target/beacon-runner.jar, H2 file in a fresh directory" : "java -cp <test class path>"));
    }

    // ------------------------------------------------------------------------------ the application

    ConfigurableApplicationContext start(TestDatabases.Database db, int inferencePort) {
        List<String> args = new ArrayList<>(List.of(
                // Only the packaged standalone defaults and what follows: not the test suite's application.yaml.
                "--spring.config.location=optional:classpath:/no-such-bench-config.yaml",
                "--server.port=0",
                "--spring.r2dbc.url=" + db.r2dbcUrl(),
                "--spring.r2dbc.username=" + db.user(),
                "--spring.r2dbc.password=" + (db.password() == null ? "" : db.password()),
                // As in config/application-postgres.yaml, the production PostgreSQL profile.
                "--spring.r2dbc.pool.initial-size=4",
                "--spring.r2dbc.pool.max-size=20",
                "--beacon.runner.dispatcher.capacity=" + CAPACITY,
                "--logging.level.dev.beacon=INFO"));
        for (int i = 0; i < ENDPOINTS.length; i++) {
            String p = "--beacon.runner.endpoints[" + i + "].";
            args.add(p + "model=" + ENDPOINTS[i][0]);
            args.add(p + "region=" + ENDPOINTS[i][1]);
            args.add(p + "providers[0].id=loopback-" + ENDPOINTS[i][0] + "-" + ENDPOINTS[i][1]);
            args.add(p + "providers[0].type=openai");
            args.add(p + "providers[0].url=http://127.0.0.1:" + inferencePort);
            args.add(p + "providers[0].max-concurrency=" + Math.max(MANY_JOBS * 2, 64));
            args.add(p + "providers[0].timeout=PT90S");
        }
        return BeaconRunnerApplication.application().run(args.toArray(String[]::new));
    }

    static String jobJson(String name, int questions) {
        StringBuilder q = new StringBuilder();
        for (int i = 0; i < questions; i++) {
            q.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"bench question ").append(i)
                    .append(": how do the regions answer this question?\"}");
        }
        return """
                {"name":"%s","questions":[%s],
                 "models":[{"id":"llama3.2-1b","regions":["us","eu","asia"]},{"id":"mistral-7b","regions":["eu","asia"]},
                           {"id":"qwen2.5-1.5b","regions":["us","eu","asia"]}],
                 "params":{"temperature":0.1,"maxTokens":500,"seed":42,"systemPrompt":"You are a helpful assistant."},
                 "limits":{"concurrency":10,"executionTimeout":"PT2M","jobTimeout":"PT30M","maxAttempts":3}}""".formatted(name, q);
    }

    /** The body the openai client sends, for the bare loop. */
    static byte[] requestBody(int question, int endpoint) {
        return ("{\"model\":\"" + ENDPOINTS[endpoint][0] + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
                + "{\"role\":\"user\",\"content\":\"bench question " + question + ": how do the regions answer this question?\"}],"
                + "\"temperature\":0.1,\"max_tokens\":500,\"seed\":42,\"stream\":false}").getBytes(StandardCharsets.UTF_8);
    }

    HttpRequest post(String path, String json) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    String submit(String json) throws Exception {
        HttpResponse<String> r = http.send(post("/jobs", json), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
        }
        Matcher m = ID.matcher(r.body());
        if (!m.find()) {
            throw new IllegalStateException("no id in " + r.body());
        }
        return m.group(1);
    }

    /** Reads the job's event stream until {@code job.finished}. */
    void awaitFinished(String id) throws Exception {
        HttpRequest events = HttpRequest.newBuilder(URI.create(base + "/jobs/" + id + "/events"))
                .header("Accept", "text/event-stream").timeout(Duration.ofMinutes(5)).build();
        try (Stream<String> lines = http.send(events, HttpResponse.BodyHandlers.ofLines()).body()) {
            if (lines.noneMatch(l -> l.startsWith("event:job.finished"))) {
                throw new IllegalStateException("stream of " + id + " ended without job.finished");
            }
        }
    }

    // ------------------------------------------------------------------------------ plumbing

    void guarded(String name, Scenario scenario) {
        String only = System.getProperty("bench.only", "");
        if (!only.isBlank() && java.util.Arrays.stream(only.split(",")).noneMatch(token -> name.startsWith(token.strip()))) {
            return; // -Dbench.only=reference,throughput runs just those (for profiling one figure)
        }
        try {
            scenario.run();
        } catch (Throwable e) {
            e.printStackTrace();
            rows.add(new Row(name, "FAILED: " + e, "", Double.NaN, "", Double.NaN, Double.NaN, 0, false, load(), ""));
        }
    }

    interface Scenario {
        void run() throws Exception;
    }

    void report() throws IOException {
        StringBuilder md = new StringBuilder("\n| scenario | figure | target | median | reference (same run) | ratio | runs | met | load avg (1/5/15 min) | note |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        StringBuilder json = new StringBuilder("{\n  \"command\": \"./mvnw -q -Pbench -pl runner-web -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='*Benchmark'\",\n"
                + "  \"cores\": " + Runtime.getRuntime().availableProcessors() + ",\n  \"finishedAt\": \"" + Instant.now() + "\",\n  \"scenarios\": [\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            md.append("| ").append(r.scenario()).append(" | ").append(r.figure()).append(" | ").append(r.target()).append(" | ")
                    .append(num(r.median())).append(' ').append(r.unit()).append(" | ").append(num(r.reference())).append(" | ")
                    .append(num(r.ratio())).append(" | ").append(r.runs()).append(" | ").append(r.met() ? "yes" : "**no**").append(" | ")
                    .append(r.load()).append(" | ").append(r.note()).append(" |\n");
            json.append("    {\"scenario\": ").append(str(r.scenario())).append(", \"figure\": ").append(str(r.figure()))
                    .append(", \"target\": ").append(str(r.target())).append(", \"median\": ").append(jnum(r.median()))
                    .append(", \"unit\": ").append(str(r.unit())).append(", \"reference\": ").append(jnum(r.reference()))
                    .append(", \"ratio\": ").append(jnum(r.ratio())).append(", \"runs\": ").append(r.runs())
                    .append(", \"met\": ").append(r.met()).append(", \"loadAverage\": ").append(str(r.load()))
                    .append(", \"note\": ").append(str(r.note())).append(i + 1 < rows.size() ? "},\n" : "}\n");
        }
        json.append("  ]\n}\n");
        System.out.println(md);
        Path out = Path.of("target/bench/results.json");
        Files.createDirectories(out.getParent());
        Files.writeString(out, json);
        Files.writeString(out.resolveSibling("results.md"), md);
        System.out.println("written to " + out.toAbsolutePath());
    }

    static String num(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : "%.3f", v);
    }

    static String jnum(double v) {
        return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.4f", v);
    }

    static String str(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String load() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    static double median(List<Double> values) {
        return percentile(values, 0.5);
    }

    static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    static void waitUntil(Supplier<Boolean> condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            sleep(1);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
