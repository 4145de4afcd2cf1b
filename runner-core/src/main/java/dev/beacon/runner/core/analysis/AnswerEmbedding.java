package dev.beacon.runner.core.analysis;

/**
 * What an {@link AnswerEmbedder} makes of one answer's text: something two answers can be compared
 * by. Two embeddings are comparable only when the same embedder made them.
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
