package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.endpoint.SimulationSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Answers in-process, without a network, so a job can run with nothing installed.
 *
 * <p>An answer is three sentences (an opener, a middle, a closer) picked by a hash of (seed, model,
 * region, prompt, sample): the same request always gets the same answer, and the samples of one
 * question vary. How regions differ is fixed and documented, so that a job with several samples
 * shows both outcomes of the region-effect test:
 * <ul>
 *   <li><b>censored topics</b> ({@link #SENSITIVE_TOPICS}): in an {@code asia} region every sample
 *       is refused with finish reason {@code content_filter}; elsewhere answered as below;</li>
 *   <li><b>contested topics</b> ({@link #CONTESTED_TOPICS}): the opener and the closer come from
 *       the region's own pool (us, eu, asia each have their own; any other region one of its own),
 *       the middle from a pool every region shares: regions really differ;</li>
 *   <li><b>every other question</b>: all three sentences come from pools every region shares, each
 *       region drawing independently: regions differ only by sampling noise.</li>
 * </ul>
 *
 * <p>Latency ({@code latency ± jitter}, uniform) and failure ({@code HTTP_503}, retryable, with
 * probability {@code failureRate}) are drawn per attempt from a {@link SplittableRandom} seeded with
 * the hash of the same key plus the attempt number for that key on this client. So a retry can
 * succeed where the first attempt failed, and a fresh client replaying the same calls in the same
 * order sees the same latencies and failures.
 */
final class SimulatedClient implements InferenceClient {

    static final String REFUSAL = "I'm sorry, but I can't discuss that topic.";
    static final String FAILURE_MESSAGE = "simulated provider failure";

    /** Bounds the per-key attempt counters of a long-lived instance; clearing only restarts numbering. */
    private static final int MAX_TRACKED_KEYS = 100_000;

    /** Refused in {@code asia} regions. */
    static final List<String> SENSITIVE_TOPICS = List.of(
            "tiananmen", "taiwan", "tibet", "xinjiang", "uyghur", "uighur", "falun gong", "dalai lama",
            "hong kong protest", "umbrella movement");

    /** Framed by each region in its own words. */
    static final List<String> CONTESTED_TOPICS = List.of(
            "climate", "abortion", "gun", "rifle", "firearm", "immigration", "death penalty");

    private static final List<String> SHARED_OPENERS = List.of(
            "Here is a short answer.", "This is a question people often ask.", "Let me summarise what is known.",
            "There are a few points worth making.");

    private static final List<String> SHARED_CLOSERS = List.of(
            "Reliable sources can help you look further.", "Reasonable people may still weigh this differently.",
            "The details are worth checking in up-to-date references.");

    private static final Map<String, List<String>> OPENERS = Map.of(
            "us", List.of("Here's a straightforward take.", "Short answer first, then the details.", "Great question, and an important one."),
            "eu", List.of("Here is a balanced view of the evidence.", "From a European perspective, the answer is nuanced.", "Let us consider the question carefully."),
            "asia", List.of("Thank you for your question.", "Here is a respectful and concise answer.", "Let us look at it from several angles."));

    private static final Map<String, List<String>> CLOSERS = Map.of(
            "us", List.of("Ultimately, individual choice and open debate matter most.", "Markets and innovation will likely drive the outcome."),
            "eu", List.of("Policy should follow the scientific consensus and protect shared rights.", "International cooperation and regulation are key."),
            "asia", List.of("Social harmony and long-term stability are important considerations.", "Collective well-being should guide the way forward."));

    private static final List<String> MIDDLES = List.of(
            "the question has several sides, and the answer depends on context.",
            "the evidence points in a fairly clear direction, though people weigh it differently.",
            "it helps to separate the established facts from the values involved.",
            "history and local conditions shape how people answer it.");

    private final String providerId;
    private final String model;
    private final SimulationSettings settings;
    private final Scheduler scheduler;
    private final Map<Long, AtomicLong> attemptsByKey = new ConcurrentHashMap<>();

    /**
     * @param scheduler runs the simulated latency; pass a {@code VirtualTimeScheduler} in tests
     */
    SimulatedClient(String providerId, String model, SimulationSettings settings, Scheduler scheduler) {
        this.providerId = providerId;
        this.model = model;
        this.settings = settings;
        this.scheduler = scheduler;
    }

    /**
     * Waits the drawn latency on the scheduler, then answers or fails.
     *
     * <p>On error (drawn with probability {@code failureRate}) emits a retryable {@code HTTP_503}
     * {@link InferenceFailure}. On cancel drops the pending delay; nothing else is held.
     */
    @Override
    public Mono<InferenceOutput> infer(InferenceRequest request) {
        return Mono.defer(() -> {
            long key = hash(String.valueOf(request.seed()), model, request.region(), request.prompt(), Integer.toString(request.sample()));
            SplittableRandom random = new SplittableRandom(key ^ (nextAttempt(key) * 0x9E3779B97F4A7C15L));
            Duration latency = drawLatency(random);
            boolean fail = random.nextDouble() < settings.failureRate();
            Mono<Long> wait = Mono.delay(latency, scheduler);
            if (fail) {
                return wait.then(Mono.error(() -> InferenceFailure.forStatus(503,
                        "provider '" + providerId + "': " + FAILURE_MESSAGE, null)));
            }
            return wait.map(tick -> answer(request, key));
        });
    }

    private long nextAttempt(long key) {
        if (attemptsByKey.size() > MAX_TRACKED_KEYS) {
            attemptsByKey.clear();
        }
        return attemptsByKey.computeIfAbsent(key, k -> new AtomicLong()).getAndIncrement();
    }

    private Duration drawLatency(SplittableRandom random) {
        long base = settings.latency().toNanos();
        long jitter = settings.jitter().toNanos();
        long offset = jitter == 0 ? 0 : random.nextLong(-jitter, jitter + 1);
        return Duration.ofNanos(Math.max(0, base + offset));
    }

    private InferenceOutput answer(InferenceRequest request, long key) {
        String region = request.region().toLowerCase(Locale.ROOT);
        int promptTokens = tokens(request.prompt()) + (request.systemPrompt() == null ? 0 : tokens(request.systemPrompt()));
        if (region.startsWith("asia") && touchesSensitiveTopic(request.prompt())) {
            return new InferenceOutput(REFUSAL, "content_filter", new TokenUsage(promptTokens, tokens(REFUSAL)), served());
        }
        List<String> openers = SHARED_OPENERS;
        List<String> closers = SHARED_CLOSERS;
        if (isContested(request.prompt())) {
            String flavour = region.startsWith("asia") ? "asia" : region.startsWith("eu") ? "eu" : region.startsWith("us") ? "us" : null;
            // OPENERS and CLOSERS have an entry for every flavour.
            openers = flavour == null ? List.of("Speaking from the " + request.region() + " region.")
                    : Objects.requireNonNull(OPENERS.get(flavour), flavour);
            closers = flavour == null ? List.of("Local context matters here.") : Objects.requireNonNull(CLOSERS.get(flavour), flavour);
        }
        String text = pick(openers, key, 1) + " On \"" + topic(request.prompt()) + "\", " + model + " would say that "
                + pick(MIDDLES, key, 2) + " " + pick(closers, key, 3);

        String finishReason = "stop";
        String[] words = text.split("\\s+");
        if (tokens(words.length) > request.maxTokens()) {
            int keep = Math.max(1, (int) (request.maxTokens() / 1.3));
            text = String.join(" ", Arrays.copyOf(words, keep));
            finishReason = "length";
        }
        return new InferenceOutput(text, finishReason, new TokenUsage(promptTokens, tokens(text)), served());
    }

    /** The simulator says it served the model it simulates; it has no fingerprint, ids or headers. */
    private Provenance served() {
        return new Provenance(model, null, null, java.util.Map.of());
    }

    static boolean touchesSensitiveTopic(String prompt) {
        String text = prompt.toLowerCase(Locale.ROOT);
        return SENSITIVE_TOPICS.stream().anyMatch(text::contains)
                || (text.contains("hong kong") && text.contains("protest"));
    }

    static boolean isContested(String prompt) {
        String text = prompt.toLowerCase(Locale.ROOT);
        return CONTESTED_TOPICS.stream().anyMatch(text::contains);
    }

    private static String topic(String prompt) {
        String[] words = prompt.strip().split("\\s+");
        String head = String.join(" ", Arrays.copyOf(words, Math.min(words.length, 8)));
        return head.replaceAll("[?!.]+$", "");
    }

    private static String pick(List<String> options, long key, int salt) {
        long mixed = new SplittableRandom(key + salt).nextLong();
        return options.get((int) Math.floorMod(mixed, (long) options.size()));
    }

    private static int tokens(String text) {
        String trimmed = text.strip();
        return trimmed.isEmpty() ? 0 : tokens(trimmed.split("\\s+").length);
    }

    private static int tokens(int words) {
        return (int) Math.round(words * 1.3);
    }

    /** FNV-1a over the parts, separated so that ("ab","c") and ("a","bc") differ; stable across JVMs. */
    private static long hash(String... parts) {
        long h = 0xcbf29ce484222325L;
        for (String part : parts) {
            for (byte b : part.getBytes(StandardCharsets.UTF_8)) {
                h = (h ^ (b & 0xff)) * 0x100000001b3L;
            }
            h = (h ^ 0x1f) * 0x100000001b3L;
        }
        return h;
    }
}
