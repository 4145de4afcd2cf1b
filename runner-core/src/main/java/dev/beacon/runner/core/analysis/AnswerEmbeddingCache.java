package dev.beacon.runner.core.analysis;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Embeds answers with one {@link AnswerEmbedder}, each distinct text once: embeddings are kept in a
 * bounded in-memory cache keyed by (measure, SHA-256 of the text), the least recently used dropped
 * first, so a second comparison of the same job embeds nothing. Thread-safe; two threads missing the
 * same text at once may both embed it (the results are equal).
 *
 * <p>A MiniLM embedding takes about 1.6 KB, so the default {@value #DEFAULT_CAPACITY} entries hold
 * about 16 MB.
 */
public final class AnswerEmbeddingCache {

    /** Entries kept by default: three 8 × 8 jobs of 50 samples, or sixty of 5. */
    public static final int DEFAULT_CAPACITY = 10_000;

    private final AnswerEmbedder embedder;
    private final int capacity;
    private final Map<Key, AnswerEmbedding> entries;
    private final AtomicLong embedded = new AtomicLong();

    public AnswerEmbeddingCache(AnswerEmbedder embedder) {
        this(embedder, DEFAULT_CAPACITY);
    }

    /** @param capacity most embeddings kept, at least 1 */
    public AnswerEmbeddingCache(AnswerEmbedder embedder, int capacity) {
        this.embedder = Objects.requireNonNull(embedder, "embedder");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, but was " + capacity);
        }
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, AnswerEmbedding> eldest) {
                return size() > AnswerEmbeddingCache.this.capacity;
            }
        };
    }

    /** The embedder's measure. */
    public String measure() {
        return embedder.measure();
    }

    /** The embedder behind this cache. */
    public AnswerEmbedder embedder() {
        return embedder;
    }

    /**
     * The embedding of each answer, in order: cached ones at once, the others embedded in one blocking
     * call of the embedder (a text that occurs twice is embedded once) and then cached.
     *
     * @throws IllegalStateException if the embedder fails; nothing of that call is cached then
     */
    public List<AnswerEmbedding> embed(List<AnswerText> answers) {
        String measure = embedder.measure();
        List<AnswerEmbedding> result = new ArrayList<>(answers.size());
        Map<Key, List<Integer>> missing = new LinkedHashMap<>();
        synchronized (entries) {
            for (int i = 0; i < answers.size(); i++) {
                Key key = new Key(measure, answers.get(i).sha256());
                AnswerEmbedding hit = entries.get(key);
                result.add(hit);
                if (hit == null) {
                    missing.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
                }
            }
        }
        if (missing.isEmpty()) {
            return result;
        }
        List<String> texts = new ArrayList<>(missing.size());
        missing.values().forEach(positions -> texts.add(answers.get(positions.get(0)).text()));
        List<AnswerEmbedding> fresh = embedder.embed(texts);
        if (fresh.size() != texts.size()) {
            throw new IllegalStateException("the embedder must return " + texts.size() + " embeddings, but returned " + fresh.size());
        }
        embedded.addAndGet(texts.size());
        Map<Key, AnswerEmbedding> computed = new HashMap<>();
        int next = 0;
        for (Map.Entry<Key, List<Integer>> e : missing.entrySet()) {
            AnswerEmbedding embedding = fresh.get(next++);
            computed.put(e.getKey(), embedding);
            e.getValue().forEach(position -> result.set(position, embedding));
        }
        synchronized (entries) {
            entries.putAll(computed);
        }
        return result;
    }

    /** How many texts this cache has had embedded so far (its misses). */
    public long embeddedCount() {
        return embedded.get();
    }

    /** How many embeddings it holds now. */
    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    private record Key(String measure, String sha256) {
    }
}
