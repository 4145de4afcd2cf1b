package dev.beacon.runner.core.analysis;

/**
 * What an {@link AnswerEmbedder} makes of one answer's text: something two answers can be compared
 * by. Two embeddings are comparable only when the same embedder made them. A host's own embedder
 * makes them with {@link UnitVector#of} (a vector) or {@link TokenSet#of} (a set of words).
 */
public sealed interface AnswerEmbedding permits UnitVector, TokenSet {

    /**
     * How alike two answers are, from 0 (nothing in common) to 1 (the same); a cosine can be slightly
     * negative for unrelated texts.
     *
     * @throws IllegalArgumentException if {@code other} was made by another kind of embedder
     */
    double similarity(AnswerEmbedding other);
}
