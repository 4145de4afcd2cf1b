package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnswerEmbeddingCacheTest {

    /** Counts what reaches the real embedder behind the cache. */
    private static final class CountingEmbedder implements AnswerEmbedder {
        private final AnswerEmbedder real = AnswerEmbedders.miniLm();
        private final List<List<String>> calls = new ArrayList<>();

        @Override
        public String measure() {
            return real.measure();
        }

        @Override
        public List<AnswerEmbedding> embed(List<String> texts) {
            calls.add(List.copyOf(texts));
            return real.embed(texts);
        }
    }

    @Test
    void secondEmbeddingOfTheSameAnswersAsksTheModelNothing() {
        CountingEmbedder model = new CountingEmbedder();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(model);
        List<AnswerText> answers = List.of(AnswerText.of("Paris is the capital of France.", null),
                AnswerText.of("Berlin is the capital of Germany.", null));

        List<AnswerEmbedding> first = cache.embed(answers);
        List<AnswerEmbedding> second = cache.embed(answers);

        assertThat(second).isEqualTo(first);
        assertThat(model.calls).hasSize(1);
        assertThat(cache.embeddedCount()).isEqualTo(2);
    }

    @Test
    void anAnswerThatOccursTwiceIsEmbeddedOnce() {
        CountingEmbedder model = new CountingEmbedder();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(model);
        AnswerText same = AnswerText.of("I'm sorry, but I can't discuss that topic.", null);

        List<AnswerEmbedding> e = cache.embed(List.of(same, AnswerText.of("Yes.", null), same));

        assertThat(model.calls).containsExactly(List.of(same.text(), "Yes."));
        assertThat(e.get(2)).isSameAs(e.get(0));
    }

    @Test
    void aReceiptsOutputHashKeysTheSameEntryAsTheComputedOne() {
        CountingEmbedder model = new CountingEmbedder();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(model);
        String text = "Canberra is the capital of Australia.";

        cache.embed(List.of(AnswerText.of(text, null)));
        cache.embed(List.of(AnswerText.of(text, AnswerText.sha256Of(text).toUpperCase(java.util.Locale.ROOT))));

        assertThat(model.calls).hasSize(1);
    }

    @Test
    void theLeastRecentlyUsedEntryIsDroppedAtCapacity() {
        CountingEmbedder model = new CountingEmbedder();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(model, 2);
        AnswerText a = AnswerText.of("one", null);
        AnswerText b = AnswerText.of("two", null);
        AnswerText c = AnswerText.of("three", null);

        cache.embed(List.of(a, b));
        cache.embed(List.of(a));
        cache.embed(List.of(c));
        cache.embed(List.of(a));
        cache.embed(List.of(b));

        assertThat(cache.size()).isEqualTo(2);
        assertThat(model.calls).containsExactly(List.of("one", "two"), List.of("three"), List.of("two"));
    }
}
