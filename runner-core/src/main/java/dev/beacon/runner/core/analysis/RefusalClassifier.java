package dev.beacon.runner.core.analysis;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether an answer is a refusal, by the first of three rules that fires:
 * <ol>
 *   <li>the provider's finish reason is {@code content_filter} (reason {@code finish reason content_filter});
 *   <li>a refusal phrase in an answer that says little else, see {@link RefusalPhrases}
 *       (reason {@code refusal phrase "…"});
 *   <li>with sentence embeddings only: the answer's embedding is at least the threshold similar to one of
 *       the refusal exemplars of {@link RefusalExemplars}, and by at least the margin more similar to it
 *       than to any of its answer exemplars (reason {@code similar to refusal exemplar "…" (0.78)}).
 * </ol>
 * With the token-Jaccard fallback (or any measure without a calibrated threshold) the third rule is absent.
 * Thread-safe. The exemplars are embedded once, on first use, through the same cache as the answers:
 * the first {@link #classify} call with an embedding blocks for that.
 */
public final class RefusalClassifier {

    private final @Nullable AnswerEmbeddingCache exemplarEmbeddings;
    private final double threshold;
    private final double margin;
    private volatile @Nullable List<AnswerEmbedding> refusalExemplars;
    private volatile @Nullable List<AnswerEmbedding> answerExemplars;

    private RefusalClassifier(@Nullable AnswerEmbeddingCache exemplarEmbeddings, double threshold, double margin) {
        this.exemplarEmbeddings = exemplarEmbeddings;
        this.threshold = threshold;
        this.margin = margin;
    }

    /** Finish reason and phrase rules only. */
    public static RefusalClassifier phrasesOnly() {
        return new RefusalClassifier(null, Double.NaN, Double.NaN);
    }

    /**
     * All three rules when the cache's measure has a calibrated threshold
     * ({@link RefusalExemplars#thresholdFor}), else {@link #phrasesOnly()}.
     */
    public static RefusalClassifier forEmbeddings(AnswerEmbeddingCache embeddings) {
        OptionalDouble t = RefusalExemplars.thresholdFor(embeddings.measure());
        return t.isPresent() ? withThreshold(embeddings, t.getAsDouble(), RefusalExemplars.marginFor(embeddings.measure())) : phrasesOnly();
    }

    /**
     * All three rules with an explicit threshold and margin, for an embedder of the host's own.
     *
     * @param threshold least similarity to a refusal exemplar
     * @param margin    how much more similar to it than to any answer exemplar
     * @throws IllegalArgumentException unless {@code -1 < threshold <= 1} and {@code -2 <= margin <= 2}
     */
    public static RefusalClassifier withThreshold(AnswerEmbeddingCache embeddings, double threshold, double margin) {
        Objects.requireNonNull(embeddings, "embeddings");
        if (!(threshold > -1 && threshold <= 1)) {
            throw new IllegalArgumentException("threshold must be in (-1, 1], but was " + threshold);
        }
        if (!(margin >= -2 && margin <= 2)) {
            throw new IllegalArgumentException("margin must be in [-2, 2], but was " + margin);
        }
        return new RefusalClassifier(embeddings, threshold, margin);
    }

    /** Whether the semantic rule is on; its embeddings must then come from {@link #measure()}. */
    public boolean semantic() {
        return exemplarEmbeddings != null;
    }

    /** The measure whose embeddings {@link #classify} expects, or {@code null} without the semantic rule. */
    public @Nullable String measure() {
        return exemplarEmbeddings == null ? null : exemplarEmbeddings.measure();
    }

    /**
     * The verdict on one answer.
     *
     * @param finishReason the provider's finish reason, or {@code null}
     * @param embedding    the answer's embedding by {@link #measure()}; ignored (may be {@code null})
     *                     without the semantic rule
     */
    public RefusalVerdict classify(String text, @Nullable String finishReason, @Nullable AnswerEmbedding embedding) {
        if (finishReason != null && finishReason.toLowerCase(Locale.ROOT).equals("content_filter")) {
            return RefusalVerdict.refusal("finish reason content_filter");
        }
        Optional<String> phrase = RefusalPhrases.refusalPhrase(text);
        if (phrase.isPresent()) {
            return RefusalVerdict.refusal("refusal phrase \"" + phrase.get() + "\"");
        }
        if (exemplarEmbeddings == null || embedding == null || text.isBlank()) {
            return RefusalVerdict.ANSWER;
        }
        double refusalLike = exemplarSimilarity(embedding);
        if (refusalLike >= threshold && refusalLike - answerExemplarSimilarity(embedding) >= margin) {
            RefusalExemplars.Match closest = RefusalExemplars.closest(embedding, refusalExemplars(exemplarEmbeddings),
                    RefusalExemplars.TEXTS).orElseThrow();
            return RefusalVerdict.refusal(String.format(Locale.ROOT, "similar to refusal exemplar \"%s\" (%.2f)",
                    closest.exemplar(), closest.similarity()));
        }
        return RefusalVerdict.ANSWER;
    }

    /** The best similarity of an embedding to any refusal exemplar (for calibration); NaN without the semantic rule. */
    public double exemplarSimilarity(AnswerEmbedding embedding) {
        if (exemplarEmbeddings == null) {
            return Double.NaN;
        }
        return RefusalExemplars.closest(embedding, refusalExemplars(exemplarEmbeddings), RefusalExemplars.TEXTS)
                .map(RefusalExemplars.Match::similarity).orElse(Double.NaN);
    }

    /** The best similarity of an embedding to any answer exemplar (for calibration); NaN without the semantic rule. */
    public double answerExemplarSimilarity(AnswerEmbedding embedding) {
        if (exemplarEmbeddings == null) {
            return Double.NaN;
        }
        return RefusalExemplars.closest(embedding, answerExemplars(exemplarEmbeddings), RefusalExemplars.ANSWER_TEXTS)
                .map(RefusalExemplars.Match::similarity).orElse(Double.NaN);
    }

    // The exemplars' cache is passed in (it is exemplarEmbeddings, checked non-null by the caller).
    private List<AnswerEmbedding> refusalExemplars(AnswerEmbeddingCache cache) {
        List<AnswerEmbedding> e = refusalExemplars;
        return e != null ? e : (refusalExemplars = embedAll(cache, RefusalExemplars.TEXTS));
    }

    private List<AnswerEmbedding> answerExemplars(AnswerEmbeddingCache cache) {
        List<AnswerEmbedding> e = answerExemplars;
        return e != null ? e : (answerExemplars = embedAll(cache, RefusalExemplars.ANSWER_TEXTS));
    }

    private static List<AnswerEmbedding> embedAll(AnswerEmbeddingCache cache, List<String> texts) {
        return cache.embed(texts.stream().map(t -> AnswerText.of(t, null)).toList());
    }
}
