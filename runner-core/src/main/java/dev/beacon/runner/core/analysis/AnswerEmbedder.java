package dev.beacon.runner.core.analysis;

import java.util.List;

/**
 * Turns answer texts into {@link AnswerEmbedding}s. Implementations are thread-safe. {@link #embed} is
 * blocking CPU work (a model run in-process): call it on a bounded scheduler of its own, never on an
 * event loop. Get one from {@link AnswerEmbedders}.
 */
public interface AnswerEmbedder {

    /**
     * What the comparison's {@code measure} field says about this embedder, e.g.
     * {@code embedding:all-MiniLM-L6-v2} or {@code token-jaccard}; also part of the cache key.
     */
    String measure();

    /**
     * Embeds each text, in order; a blank text gets the embedding of "no words". Blocks the calling
     * thread for the work (and, the first time, for loading a model).
     *
     * @throws IllegalStateException if a model cannot be loaded or run
     */
    List<AnswerEmbedding> embed(List<String> texts);
}
