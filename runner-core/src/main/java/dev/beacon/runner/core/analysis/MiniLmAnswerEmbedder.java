package dev.beacon.runner.core.analysis;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Sentence embeddings from all-MiniLM-L6-v2 (quantized, 384 dimensions), run in-process by ONNX
 * Runtime through langchain4j; texts longer than the model's 256-token window are embedded in parts
 * and averaged by langchain4j.
 *
 * <p>The model (about 23 MB, in the langchain4j jar) is loaded once, on the first {@link #embed} call,
 * which takes about 0.5 s; until then nothing of langchain4j is touched, so constructing this class is
 * free. Texts of one call are embedded one after another on the calling thread (langchain4j's own
 * thread pool is not used), so the caller's scheduler bounds the work.
 *
 * <p>Only {@link AnswerEmbedders} creates it, after checking that the model class is on the class path.
 */
final class MiniLmAnswerEmbedder implements AnswerEmbedder {

    static final String MEASURE = "embedding:all-MiniLM-L6-v2";
    static final String MODEL_CLASS = "dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel";

    private volatile @Nullable EmbeddingModel model;

    @Override
    public String measure() {
        return MEASURE;
    }

    @Override
    public List<AnswerEmbedding> embed(List<String> texts) {
        List<TextSegment> segments = new ArrayList<>();
        for (String text : texts) {
            if (!text.isBlank()) {
                segments.add(TextSegment.from(text));
            }
        }
        List<Embedding> vectors = segments.isEmpty() ? List.of() : model().embedAll(segments).content();
        if (vectors.size() != segments.size()) {
            throw new IllegalStateException("the model must return " + segments.size() + " embeddings, but returned " + vectors.size());
        }
        List<AnswerEmbedding> result = new ArrayList<>(texts.size());
        int next = 0;
        for (String text : texts) {
            result.add(text.isBlank() ? UnitVector.EMPTY : UnitVector.of(vectors.get(next++).vector()));
        }
        return result;
    }

    /** The model, loaded on first use (its class's static initialiser reads the ONNX file from the jar). */
    private EmbeddingModel model() {
        EmbeddingModel loaded = model;
        if (loaded == null) {
            synchronized (this) {
                loaded = model;
                if (loaded == null) {
                    loaded = load();
                    model = loaded;
                }
            }
        }
        return loaded;
    }

    private static EmbeddingModel load() {
        // langchain4j reads the model and tokenizer through the thread's context class loader; a pool
        // thread's may not see the jar (or may be null), so lend it the loader that has the class.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(MiniLmAnswerEmbedder.class.getClassLoader());
        try {
            return new AllMiniLmL6V2QuantizedEmbeddingModel(Runnable::run);
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("all-MiniLM-L6-v2 could not be loaded: " + e, e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Override
    public String toString() {
        return "MiniLmAnswerEmbedder[" + (model == null ? "not loaded" : "loaded") + "]";
    }
}
