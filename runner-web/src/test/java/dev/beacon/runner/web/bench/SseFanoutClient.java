package dev.beacon.runner.web.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A thousand (or N) clients of one job's event stream, in a process of their own so that what
 * {@link SseFanoutBenchmark} measures is the server's work, not the clients'. For every
 * {@code execution.finished} that arrives after all clients are connected it records the delay from
 * the cell's {@code completedAt} (the runner got the answer) to its arrival here; prints
 * {@code connected} once all are, and the percentiles at the end.
 *
 * <p>Usage: {@code SseFanoutClient BASE_URL JOB_ID CLIENTS}.
 */
public final class SseFanoutClient {

    private static final Pattern COMPLETED = Pattern.compile("\"completedAt\":\"([^\"]+)\"");

    private SseFanoutClient() {
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        String job = args[1];
        int clients = Integer.parseInt(args[2]);
        HttpClient http = HttpClient.create(ConnectionProvider.builder("fanout").maxConnections(clients + 10).pendingAcquireMaxCount(-1).build())
                .baseUrl(base).responseTimeout(Duration.ofMinutes(5));
        CountDownLatch connected = new CountDownLatch(clients);
        CountDownLatch finished = new CountDownLatch(clients);
        ConcurrentLinkedQueue<Long> delaysMs = new ConcurrentLinkedQueue<>();
        AtomicInteger events = new AtomicInteger();
        long[] allConnectedAt = {Long.MAX_VALUE};
        for (int c = 0; c < clients; c++) {
            http.headers(h -> h.set("Accept", "text/event-stream"))
                    .get().uri("/jobs/" + job + "/events")
                    .response((response, body) -> {
                        connected.countDown();
                        return body.asString(StandardCharsets.UTF_8);
                    })
                    .flatMap(chunk -> Flux.fromArray(chunk.split("\n")))
                    .doOnNext(line -> {
                        if (line.startsWith("data:") && line.contains("\"type\":\"execution.finished\"")) {
                            events.incrementAndGet();
                            long now = System.currentTimeMillis();
                            Matcher m = COMPLETED.matcher(line);
                            if (m.find() && now > allConnectedAt[0]) {
                                long completed = Instant.parse(m.group(1)).toEpochMilli();
                                if (completed > allConnectedAt[0]) {
                                    delaysMs.add(now - completed);
                                }
                            }
                        }
                    })
                    .doFinally(s -> finished.countDown())
                    .subscribe(line -> { }, e -> { });
        }
        if (!connected.await(60, TimeUnit.SECONDS)) {
            System.out.println("only " + (clients - connected.getCount()) + " of " + clients + " connected");
        }
        allConnectedAt[0] = System.currentTimeMillis();
        System.out.println("connected");
        finished.await(10, TimeUnit.MINUTES);
        List<Long> sorted = new ArrayList<>(delaysMs);
        Collections.sort(sorted);
        if (sorted.isEmpty()) {
            System.out.println("result no live events measured");
            return;
        }
        System.out.printf(Locale.ROOT, "result %d clients, %d execution.finished arrivals measured: cell completion -> arrival p50=%d ms p99=%d ms max=%d ms%n",
                clients, sorted.size(), sorted.get(sorted.size() / 2), sorted.get((int) Math.min(sorted.size() - 1, Math.floor(sorted.size() * 0.99))),
                sorted.get(sorted.size() - 1));
        System.exit(0);
    }
}
