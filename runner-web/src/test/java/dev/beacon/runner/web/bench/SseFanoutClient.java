package dev.beacon.runner.web.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A thousand (or N) clients of one job's event stream, in a process of their own so that what
 * {@link SseFanoutBenchmark} measures is the server's work, not the clients'. For every
 * {@code execution.finished} that arrives after all clients are connected it records the delay from
 * the cell's {@code completedAt} (the runner got the answer) to its arrival here; prints
 * {@code connected} once all are, and the percentiles at the end.
 *
 * <p>The clients share two cores with the server, so their own work is kept small: each chunk is
 * scanned as bytes for {@code "completedAt":"} (only an execution's event has that field, and a
 * quote inside an answer is escaped), no line is decoded, and a field cut by a chunk boundary is
 * completed from the next chunk.
 *
 * <p>Usage: {@code SseFanoutClient BASE_URL JOB_ID CLIENTS}.
 */
public final class SseFanoutClient {

    private static final byte[] COMPLETED = "\"completedAt\":\"".getBytes(StandardCharsets.US_ASCII);

    /** Longest timestamp kept: an ISO instant with nanoseconds is 30 characters. */
    private static final int LONGEST_VALUE = 40;

    /** Each event's completedAt is parsed once, not once per client. */
    private static final ConcurrentHashMap<String, Long> EPOCH_MILLIS = new ConcurrentHashMap<>();

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
        // The first arrival of each event, at whichever client: the server's commit-to-socket path
        // without the spread over a thousand sockets.
        ConcurrentLinkedQueue<Long> firstDelaysMs = new ConcurrentLinkedQueue<>();
        AtomicInteger events = new AtomicInteger();
        long[] allConnectedAt = {Long.MAX_VALUE};
        for (int c = 0; c < clients; c++) {
            http.headers(h -> h.set("Accept", "text/event-stream"))
                    .get().uri("/jobs/" + job + "/events")
                    .response((response, body) -> {
                        connected.countDown();
                        return body.asByteArray();
                    })
                    .scan(new byte[0], (carry, chunk) -> scan(carry, chunk, allConnectedAt[0], events, delaysMs, firstDelaysMs))
                    .doFinally(s -> finished.countDown())
                    .subscribe(carry -> { }, e -> { });
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
        List<Long> first = new ArrayList<>(firstDelaysMs);
        Collections.sort(first);
        System.out.printf(Locale.ROOT, "result %d clients, %d execution.finished arrivals measured: cell completion -> arrival p50=%d ms p99=%d ms max=%d ms;"
                        + " first arrival of each event p50=%d ms p99=%d ms%n",
                clients, sorted.size(), percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.get(sorted.size() - 1),
                percentile(first, 0.5), percentile(first, 0.99));
        System.exit(0);
    }

    /**
     * Records a delay for each completedAt in {@code carry} + {@code chunk} that arrived after
     * {@code since}; returns the bytes to carry into the next chunk (a field, or the start of its
     * name, cut by this chunk's end).
     */
    private static byte[] scan(byte[] carry, byte[] chunk, long since, AtomicInteger events, ConcurrentLinkedQueue<Long> delaysMs,
                               ConcurrentLinkedQueue<Long> firstDelaysMs) {
        long now = System.currentTimeMillis();
        byte[] bytes = carry.length == 0 ? chunk : concat(carry, chunk);
        int consumed = 0;
        for (int at = indexOf(bytes, COMPLETED, 0); at >= 0; at = indexOf(bytes, COMPLETED, consumed)) {
            int from = at + COMPLETED.length;
            int quote = from;
            while (quote < bytes.length && bytes[quote] != '"') {
                quote++;
            }
            if (quote == bytes.length) {
                return Arrays.copyOfRange(bytes, at, bytes.length);
            }
            consumed = quote + 1;
            events.incrementAndGet();
            long completed = EPOCH_MILLIS.computeIfAbsent(new String(bytes, from, quote - from, StandardCharsets.US_ASCII),
                    text -> {
                        long millis = Instant.parse(text).toEpochMilli();
                        if (now > since && millis > since) {
                            firstDelaysMs.add(now - millis);
                        }
                        return millis;
                    });
            if (now > since && completed > since) {
                delaysMs.add(now - completed);
            }
        }
        int keep = Math.min(bytes.length - consumed, COMPLETED.length + LONGEST_VALUE);
        return Arrays.copyOfRange(bytes, bytes.length - keep, bytes.length);
    }

    private static long percentile(List<Long> sorted, double p) {
        return sorted.isEmpty() ? -1 : sorted.get((int) Math.min(sorted.size() - 1, Math.floor(sorted.size() * p)));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] joined = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, joined, a.length, b.length);
        return joined;
    }

    private static int indexOf(byte[] bytes, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= bytes.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
