package dev.beacon.runner.core.analysis;

import java.util.List;

/** The fallback without a model: each answer's distinct words, compared by Jaccard similarity. */
final class TokenJaccardEmbedder implements AnswerEmbedder {

    static final String MEASURE = "token-jaccard";

    @Override
    public String measure() {
        return MEASURE;
    }

    @Override
    public List<AnswerEmbedding> embed(List<String> texts) {
        return texts.stream().<AnswerEmbedding>map(TokenSet::of).toList();
    }

    @Override
    public String toString() {
        return "TokenJaccardEmbedder";
    }
}
