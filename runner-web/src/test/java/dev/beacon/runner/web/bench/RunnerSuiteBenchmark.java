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
 *
 * <p>{@code -Dbench.only=scaling} measures how cost grows with work: 1, 10, 100 and 1,000 concurrent
 * reference jobs ({@code -Dbench.scaling=1,10,100,1000}), printed as a second table after the main one.
 */
@Tag("benchmark")
class RunnerSuiteBenchmark {

    static final String[][] ENDPOINTS = {{"llama3.2-1b", "us"}, {"llama3.2-1b", "eu"}, {"llama3.2-1b", "asia"},
            {"mistral-7b", "eu"}, {"mistral-7b", "asia"}, {"qwen2.5-1.5b", "us"}, {"qwen2.5-1.5b", "eu"}, {"qwen2.5-1.5b", "asia"}};
    static final int REFERENCE_RUNS = Integer.getInteger("bench.runs", 5);
    /**
     * Least seconds of warm-up before the first scenario ({@code -Dbench.warmup=0} for none): until the
     * JIT has compiled the engine's and Reactor Netty's paths, the compiler threads take a third of the
     * two cores and every figure measures a cold JVM. How long that takes depends on the machine (30 s
     * on the one of 2026-12-03, about 150 s on the slower one of 2026-12-04), so the warm-up goes on
     * past this until the runner stops getting faster, for at most {@link #WARMUP_MAX_SECONDS}.
     */
    static final int WARMUP_SECONDS = Integer.getInteger("bench.warmup", 30);
    static final int WARMUP_MAX_SECONDS = Integer.getInteger("bench.warmup.max", 300);
    static final int MANY_JOBS = Integer.getInteger("bench.jobs", 500);
    static final int SUBSCRIBERS = Integer.getInteger("bench.subscribers", 1000);
    /** {@code -Dbench.db=h2}: the same suite on the embedded H2 default instead of PostgreSQL. */
    static final boolean ON_H2 = "h2".equals(System.getProperty("bench.db"));
    /** Concurrent jobs per level of the "scaling" scenario, one run each. */
    static final int[] SCALING_LEVELS = java.util.Arrays.stream(System.getProperty("bench.scaling", "1,10,100,1000").split(","))
            .map(String::strip).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    /** The jobs the scenarios selected by {@code -Dbench.only} run at once, at most. */
    static final int MOST_CONCURRENT_JOBS = Math.max(MANY_JOBS,
            selected("scaling") ? java.util.Arrays.stream(SCALING_LEVELS).max().orElse(0) : 0);
    /**
     * Jobs one instance runs at once; the default lets every job of the "many" scenario and of the
     * largest "scaling" level run together. An explicit {@code -Dbench.capacity} is kept (to measure
     * queueing); the scaling rows then say that jobs beyond it waited.
     */
    static final int CAPACITY = Integer.getInteger("bench.capacity", Math.max(MOST_CONCURRENT_JOBS, 4));
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
    final List<ScalingLevel> scaling = new ArrayList<>();
    LoopbackInference inference;
    String base;
    String jdbcUrl;
    String dbUser;

    /** One line of the table. {@code reference} and {@code ratio} may be NaN when the figure has none. */
    record Row(String scenario, String figure, String target, double median, String unit, double reference, double ratio,
               int runs, boolean met, String load, String note) {

        /** "–": a figure for readers, with nothing to meet (the scaling rows). */
        boolean hasTarget() {
            return !"–".equals(target);
        }
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
                guarded("warm-up", this::warmUp);
                guarded("reference", this::referenceJob);
                guarded("throughput", this::throughput);
                guarded("many jobs", this::manyJobs);
                guarded("sse", this::sse);
                guarded("cancel", this::cancel);
                // Last in the application: its 1,000 jobs would weigh on every figure measured after it.
                guarded("scaling", this::scaling);
            }
        }
        guarded("start-up", this::startup);
        report();
    }

    // ------------------------------------------------------------------------------ scenarios

    /**
     * Runs stored 500 × 8 jobs at 0 ms, each followed by the bare loop, until {@link #WARMUP_SECONDS}
     * have passed; prints each round's rates, which climb (2026-12-03: 473 → 1,220 executions/s for
     * the runner, 6,500 → 22,000 for the bare loop over ten rounds) until the JIT is done.
     */
    void warmUp() throws Exception {
        if (WARMUP_SECONDS <= 0) {
            return;
        }
        inference.latency(0);
        String job = jobJson("warm-up", 500);
        LoopResources loops = LoopResources.create("bench-warm", 1, true);
        ConnectionProvider pool = ConnectionProvider.builder("bench-warm").maxConnections(64).build();
        reactor.netty.http.client.HttpClient bare = reactor.netty.http.client.HttpClient.create(pool).runOn(loops)
                .headers(h -> h.set("Content-Type", "application/json"));
        try {
            long start = System.nanoTime();
            List<Double> rates = new ArrayList<>();
            for (int round = 1; !warm(rates, (System.nanoTime() - start) / 1e9); round++) {
                long t0 = System.nanoTime();
                awaitFinished(submit(job));
                double runner = 500 * 8 / ((System.nanoTime() - t0) / 1e9);
                rates.add(runner);
                System.out.printf(Locale.ROOT, "warm-up round %d: runner %.0f executions/s, bare loop %.0f%n", round, runner, bareLoop(bare, 500));
            }
            System.out.printf(Locale.ROOT, "warm-up: %d rounds, %.0f s%n", rates.size(), (System.nanoTime() - start) / 1e9);
        } finally {
            pool.disposeLater().block(Duration.ofSeconds(5));
            loops.disposeLater().block(Duration.ofSeconds(5));
        }
    }

    /**
     * Whether the warm-up may stop: after {@link #WARMUP_SECONDS}, once the best of the last three
     * rounds is no more than 5 % faster than the best before them (the JIT has stopped paying off;
     * single rounds vary by about a tenth when warm), or after {@link #WARMUP_MAX_SECONDS} regardless.
     */
    static boolean warm(List<Double> rates, double seconds) {
        if (seconds >= WARMUP_MAX_SECONDS) {
            return true;
        }
        if (seconds < WARMUP_SECONDS || rates.size() < 6) {
            return false;
        }
        int split = rates.size() - 3;
        double before = rates.subList(0, split).stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        double last = rates.subList(split, rates.size()).stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return last <= before * 1.05;
    }

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
                    "≥ 0.25", e, "exec/s", r, e / r, runs, e / r >= 0.25, load,
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

    /**
     * Executions per second of {@code jobs} bare "jobs" at once against the loopback server as it is set
     * (200 ms): each is 8 rounds of one POST per endpoint, the rounds one after the other, with a
     * connection per request in flight; what the runner's many-jobs figure is compared with.
     */
    double bareConcurrentJobs(int jobs) {
        int inFlight = jobs * ENDPOINTS.length;
        LoopResources loops = LoopResources.create("bench-bare-many", 1, true);
        ConnectionProvider pool = ConnectionProvider.builder("bench-bare-many").maxConnections(inFlight).pendingAcquireMaxCount(-1).build();
        reactor.netty.http.client.HttpClient bare = reactor.netty.http.client.HttpClient.create(pool).runOn(loops)
                .headers(h -> h.set("Content-Type", "application/json"));
        try {
            long t0 = System.nanoTime();
            Flux.range(0, jobs)
                    .flatMap(job -> Flux.range(0, 8).concatMap(q -> Flux.range(0, ENDPOINTS.length).flatMap(e -> bare.post()
                            .uri("http://127.0.0.1:" + inference.port() + "/v1/chat/completions")
                            .send(Mono.fromSupplier(() -> Unpooled.wrappedBuffer(requestBody(q, e))))
                            .responseSingle((res, body) -> body.asString()), ENDPOINTS.length)), jobs)
                    .blockLast(Duration.ofMinutes(5));
            return jobs * 8.0 * ENDPOINTS.length / ((System.nanoTime() - t0) / 1e9);
        } finally {
            pool.disposeLater().block(Duration.ofSeconds(5));
            loops.disposeLater().block(Duration.ofSeconds(5));
        }
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
        // The issue's yardstick for this scenario: what a bare client loop reaches at the same
        // concurrency (4,000 requests in flight at 500 jobs), since 500 × 8 every 200 ms is beyond two cores.
        double bare = bareConcurrentJobs(MANY_JOBS);
        double executions = MANY_JOBS * 64 / (ratio * 1.6);
        rows.add(new Row("same", "executions/s ÷ a bare Reactor Netty loop at the same concurrency", "≥ 0.5", executions, "exec/s",
                bare, executions / bare, runs, executions / bare >= 0.5, load,
                ("bare loop: %d jobs at once, each 8 rounds of 8 concurrent POSTs (%d in flight), no engine, no store; runner from the"
                + " median wall").formatted(MANY_JOBS, MANY_JOBS * ENDPOINTS.length)));
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
        Instant t0 = Instant.now();
        try {
            submitConcurrently(jobJson(name, 8), jobs);
            double submitted = Duration.between(t0, Instant.now()).toNanos() / 1e9;
            Instant[] last = awaitJobs(name, jobs, Duration.ofMinutes(5));
            return new Sample(jobs, Duration.between(t0, last[0]).toNanos() / 1e9, peakHeap.get() / (1024.0 * 1024), peakThreads.get(),
                    peakAfterGc.get() / (1024.0 * 1024), submitted, Duration.between(t0, last[1]).toNanos() / 1e9, peakNames.get());
        } finally {
            sampling.set(false);
            sampler.join();
        }
    }

    /** POSTs {@code job} {@code count} times, 64 requests at a time; fails on the first refused submission. */
    void submitConcurrently(String job, int count) {
        Flux.range(0, count)
                .flatMap(i -> Mono.fromFuture(() -> http.sendAsync(post("/jobs", job), HttpResponse.BodyHandlers.ofString())), 64)
                .doOnNext(r -> {
                    if (r.statusCode() != 202) {
                        throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
                    }
                })
                .blockLast(Duration.ofMinutes(2));
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

    /** One level of the scaling table; {@code NaN} where nothing was measured. */
    record ScalingLevel(int jobs, long cells, long succeeded, double wallSeconds, double executionsPerSecond, QuestionGaps gaps,
                        double heapBeforeMb, double heapAfterGcMb, int idleThreads, int peakThreads, int jvmPeakThreads, String load) {
    }

    /**
     * Gaps between questions in ms, and the medians of their two parts: result made → its
     * execution.finished stored, → next call started ({@code NaN} on H2).
     */
    record QuestionGaps(List<Double> millis, double toStoredMedian, double toNextCallMedian) {
    }

    /**
     * How cost grows with work: for each level of {@code -Dbench.scaling}, that many reference jobs
     * (8 × 8 at 200 ms) submitted at once, one run per level. Jobs are awaited in the database as in
     * "many jobs", not on their event streams: a blocking SSE reader per job would add 1,000 harness
     * threads to the live-thread figure.
     *
     * <p>The gap between questions is taken from the stored rows, per job: LoopbackInference's marks
     * are per question number across all jobs (first request of q+1 of ANY job, last answer of q of
     * ANY job), which is meaningless once several jobs run at once.
     */
    void scaling() throws Exception {
        inference.latency(200);
        awaitFinished(submit(jobJson("scaling-warm", 8))); // JIT, connections, caches: level 1 must not pay for them
        for (int level = 0; level < SCALING_LEVELS.length; level++) {
            int jobs = SCALING_LEVELS[level];
            ScalingLevel measured = scalingLevel("scaling-" + level + "-" + jobs, jobs);
            scaling.add(measured);
            rows.add(new Row("scaling: " + jobs + " concurrent reference job" + (jobs == 1 ? "" : "s") + ", 8 × 8, 200 ms" + (ON_H2 ? ", H2" : ""),
                    "executions/s (cells ÷ first POST → last job.finished)", "–", measured.executionsPerSecond(), "exec/s",
                    Double.NaN, Double.NaN, 1, true, measured.load(), scalingNote(measured)));
        }
    }

    String scalingNote(ScalingLevel m) {
        QuestionGaps g = m.gaps();
        String split = Double.isNaN(g.toStoredMedian()) ? "" : "; median split: result made → its execution.finished stored %.2f ms,"
                .formatted(g.toStoredMedian()) + " → next call started %.2f ms".formatted(g.toNextCallMedian());
        return ("%d cells (%d succeeded) in %.2f s (ideal 1.6 s); gap between questions p99 %.2f ms, median %.2f ms over %d gaps:"
                + " per job, first call of question k+1 started (executions.started_at) − last result of question k made"
                + " (completed_at)%s; heap used after System.gc() at the end %.0f MB (%.0f MB before the level); live threads"
                + " peak %d (ThreadMXBean.getThreadCount every 100 ms, whole JVM; %d before the level, JVM peak %d)%s")
                .formatted(m.cells(), m.succeeded(), m.wallSeconds(), percentile(g.millis(), 0.99), percentile(g.millis(), 0.5),
                        g.millis().size(), split, m.heapAfterGcMb(), m.heapBeforeMb(), m.peakThreads(), m.idleThreads(),
                        m.jvmPeakThreads(), m.jobs() > CAPACITY ? "; capacity " + CAPACITY + ": the jobs beyond it waited in the queue" : "");
    }

    ScalingLevel scalingLevel(String name, int jobs) throws Exception {
        String load = load();
        var memory = ManagementFactory.getMemoryMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        System.gc(); // the level starts without the previous one's garbage
        double heapBefore = memory.getHeapMemoryUsage().getUsed() / (1024.0 * 1024);
        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicInteger peakThreads = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                peakThreads.accumulateAndGet(threads.getThreadCount(), Math::max);
                sleep(100);
            }
        }, "bench-scaling-sampler");
        sampler.setDaemon(true);
        sampler.start();
        // Read with the sampler running, so that "before" and "peak" count the same harness threads.
        int idleThreads = threads.getThreadCount();
        threads.resetPeakThreadCount();
        Instant t0 = Instant.now();
        Instant lastFinished;
        try {
            submitConcurrently(jobJson(name, 8), jobs);
            // A generous deadline that grows with the level: the table is for readers, a slow machine is no failure.
            lastFinished = awaitJobs(name, jobs, Duration.ofMinutes(5 + jobs / 100))[0];
        } finally {
            sampling.set(false);
            sampler.join();
        }
        int jvmPeak = threads.getPeakThreadCount();
        System.gc(); // best effort: a request, and the heap still holds whatever the runner keeps after its jobs
        double heapAfterGc = memory.getHeapMemoryUsage().getUsed() / (1024.0 * 1024);
        double wall = Duration.between(t0, lastFinished).toNanos() / 1e9;
        long[] cells = cellCounts(name);
        return new ScalingLevel(jobs, cells[0], cells[1], wall, cells[0] / wall, questionGaps(name), heapBefore, heapAfterGc,
                idleThreads, peakThreads.get(), jvmPeak, load);
    }

    /** Stored cells of the jobs named {@code name}: all, and those that succeeded. */
    long[] cellCounts(String name) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, null);
             var st = c.prepareStatement("SELECT COUNT(*), COUNT(CASE WHEN e.status = 'SUCCEEDED' THEN 1 END) FROM executions e"
                     + " JOIN jobs j ON j.id = e.job_id WHERE j.name = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    /**
     * Per job of {@code name} and question boundary k → k+1: the first call of k+1 started (started_at)
     * minus the last result of k made (completed_at). On PostgreSQL also split at the moment k's last
     * row was stored (the created_at of its execution.finished, taken inside the commit transaction).
     */
    QuestionGaps questionGaps(String name) throws SQLException {
        // (job, question index) -> {last completed_at, first started_at, last execution.finished created_at}, micros
        java.util.Map<String, long[]> marks = new java.util.HashMap<>();
        try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, null)) {
            try (var st = c.prepareStatement("SELECT e.job_id, e.question_id, MAX(e.completed_at), MIN(e.started_at) FROM executions e"
                    + " JOIN jobs j ON j.id = e.job_id WHERE j.name = ? GROUP BY e.job_id, e.question_id")) {
                st.setString(1, name);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        var started = rs.getObject(4, java.time.OffsetDateTime.class);
                        marks.put(rs.getString(1) + "/" + questionIndex(rs.getString(2)), new long[] {
                                micros(rs.getObject(3, java.time.OffsetDateTime.class).toInstant()),
                                started == null ? Long.MIN_VALUE : micros(started.toInstant()), Long.MIN_VALUE});
                    }
                }
            }
            if (!ON_H2) { // the event's question is in its jsonb data, read with PostgreSQL's operators
                try (var st = c.prepareStatement("SELECT ev.job_id, ev.data->>'questionId', MAX(ev.created_at) FROM job_events ev"
                        + " JOIN jobs j ON j.id = ev.job_id WHERE j.name = ? AND ev.type = 'execution.finished'"
                        + " GROUP BY ev.job_id, ev.data->>'questionId'")) {
                    st.setString(1, name);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            long[] m = marks.get(rs.getString(1) + "/" + questionIndex(rs.getString(2)));
                            if (m != null) {
                                m[2] = micros(rs.getObject(3, java.time.OffsetDateTime.class).toInstant());
                            }
                        }
                    }
                }
            }
        }
        List<Double> gaps = new ArrayList<>();
        List<Double> toStored = new ArrayList<>();
        List<Double> toNextCall = new ArrayList<>();
        marks.forEach((key, current) -> {
            int slash = key.lastIndexOf('/');
            long[] next = marks.get(key.substring(0, slash + 1) + (Integer.parseInt(key.substring(slash + 1)) + 1));
            if (next == null || next[1] == Long.MIN_VALUE) {
                return; // the job's last question, or a question whose calls never started
            }
            gaps.add((next[1] - current[0]) / 1e3);
            if (current[2] != Long.MIN_VALUE) {
                toStored.add((current[2] - current[0]) / 1e3);
                toNextCall.add((next[1] - current[2]) / 1e3);
            }
        });
        return new QuestionGaps(gaps, median(toStored), median(toNextCall));
    }

    /** "q3" -> 3: the benchmark's question ids are q0 … q7. */
    static int questionIndex(String questionId) {
        return Integer.parseInt(questionId.substring(1));
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
            // Every job has one call per endpoint in flight: calls never wait for a lane, at any level.
            args.add(p + "providers[0].max-concurrency=" + Math.max(Math.max(MANY_JOBS * 2, MOST_CONCURRENT_JOBS), 64));
            args.add(p + "providers[0].timeout=PT90S");
        }
        // Experiments: -Dbench.args="--beacon.runner.observability.mdc=false --a.b=c" adds (and overrides) application arguments.
        String extra = System.getProperty("bench.args", "").strip();
        for (String arg : extra.isEmpty() ? new String[0] : extra.split("\\s+")) {
            String key = arg.contains("=") ? arg.substring(0, arg.indexOf('=') + 1) : arg;
            args.removeIf(existing -> existing.startsWith(key)); // a repeated key would be merged into a list
            args.add(arg);
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
        if (!selected(name)) {
            return;
        }
        try {
            scenario.run();
        } catch (Throwable e) {
            e.printStackTrace();
            rows.add(new Row(name, "FAILED: " + e, "", Double.NaN, "", Double.NaN, Double.NaN, 0, false, load(), ""));
        }
    }

    /** -Dbench.only=reference,throughput runs just those (for profiling one figure); unset runs all. */
    static boolean selected(String scenario) {
        String only = System.getProperty("bench.only", "");
        return only.isBlank() || java.util.Arrays.stream(only.split(",")).anyMatch(token -> scenario.startsWith(token.strip()));
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
                    .append(num(r.ratio())).append(" | ").append(r.runs()).append(" | ")
                    .append(r.hasTarget() ? (r.met() ? "yes" : "**no**") : "–").append(" | ")
                    .append(r.load()).append(" | ").append(r.note()).append(" |\n");
            json.append("    {\"scenario\": ").append(str(r.scenario())).append(", \"figure\": ").append(str(r.figure()))
                    .append(", \"target\": ").append(str(r.target())).append(", \"median\": ").append(jnum(r.median()))
                    .append(", \"unit\": ").append(str(r.unit())).append(", \"reference\": ").append(jnum(r.reference()))
                    .append(", \"ratio\": ").append(jnum(r.ratio())).append(", \"runs\": ").append(r.runs())
                    .append(", \"met\": ").append(r.hasTarget() ? String.valueOf(r.met()) : "null")
                    .append(", \"loadAverage\": ").append(str(r.load()))
                    .append(", \"note\": ").append(str(r.note())).append(i + 1 < rows.size() ? "},\n" : "}\n");
        }
        json.append(scaling.isEmpty() ? "  ]\n" : "  ],\n  \"scaling\": [\n");
        if (!scaling.isEmpty()) {
            md.append(scalingTable());
        }
        for (int i = 0; i < scaling.size(); i++) {
            ScalingLevel l = scaling.get(i);
            json.append("    {\"jobs\": ").append(l.jobs()).append(", \"cells\": ").append(l.cells())
                    .append(", \"succeeded\": ").append(l.succeeded()).append(", \"wallSeconds\": ").append(jnum(l.wallSeconds()))
                    .append(", \"executionsPerSecond\": ").append(jnum(l.executionsPerSecond()))
                    .append(", \"gaps\": ").append(l.gaps().millis().size())
                    .append(", \"gapMedianMs\": ").append(jnum(percentile(l.gaps().millis(), 0.5)))
                    .append(", \"gapP99Ms\": ").append(jnum(percentile(l.gaps().millis(), 0.99)))
                    .append(", \"heapBeforeMb\": ").append(jnum(l.heapBeforeMb()))
                    .append(", \"heapAfterGcMb\": ").append(jnum(l.heapAfterGcMb()))
                    .append(", \"threadsBefore\": ").append(l.idleThreads()).append(", \"peakThreads\": ").append(l.peakThreads())
                    .append(", \"jvmPeakThreads\": ").append(l.jvmPeakThreads()).append(", \"loadAverage\": ").append(str(l.load()))
                    .append(i + 1 < scaling.size() ? "},\n" : "}\n");
        }
        json.append(scaling.isEmpty() ? "}\n" : "  ]\n}\n");
        System.out.println(md);
        Path out = Path.of("target/bench/results.json");
        Files.createDirectories(out.getParent());
        Files.writeString(out, json);
        Files.writeString(out.resolveSibling("results.md"), md);
        System.out.println("written to " + out.toAbsolutePath());
    }

    /** The "scaling" levels side by side, one row each; the definitions are in the rows' notes above. */
    String scalingTable() {
        StringBuilder md = new StringBuilder("\nScaling: N concurrent reference jobs (8 × 8, 200 ms), one run per level, capacity " + CAPACITY
                + (ON_H2 ? ", H2" : "") + ".\n\n| concurrent jobs | cells | wall (s) | executions/s | gap p99 (ms) | gap median (ms)"
                + " | heap after GC (MB) | live threads, peak (before) | load avg (1/5/15 min) |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (ScalingLevel l : scaling) {
            md.append("| ").append(l.jobs()).append(" | ").append(l.cells()).append(" | ").append(num(l.wallSeconds())).append(" | ")
                    .append(num(l.executionsPerSecond())).append(" | ").append(num(percentile(l.gaps().millis(), 0.99))).append(" | ")
                    .append(num(percentile(l.gaps().millis(), 0.5))).append(" | ").append(num(l.heapAfterGcMb())).append(" | ")
                    .append(l.peakThreads()).append(" (").append(l.idleThreads()).append(") | ").append(l.load()).append(" |\n");
        }
        return md.toString();
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
