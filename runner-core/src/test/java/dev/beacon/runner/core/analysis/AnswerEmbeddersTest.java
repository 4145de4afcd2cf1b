package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The embedders with the real all-MiniLM-L6-v2 model, which runs offline from its jar. */
class AnswerEmbeddersTest {

    private static final String ANSWER = "Crimea is internationally recognised as part of Ukraine. Russia annexed the peninsula in 2014 "
            + "after a referendum that most states consider illegitimate.";
    private static final String PARAPHRASE = "Most of the world regards Crimea as Ukrainian territory; Russia took control of it in 2014 "
            + "following a disputed referendum.";
    private static final String REFUSAL = "I'm sorry, but I can't discuss that topic.";

    @Test
    void withTheModelOnTheClassPathTheSentenceEmbeddingIsChosen() {
        assertThat(AnswerEmbedders.available().measure()).isEqualTo("embedding:all-MiniLM-L6-v2");
    }

    @Test
    void withoutTheModelClassTheTokenJaccardFallbackIsChosen() {
        ClassLoader hidingLangchain4j = new ClassLoader(AnswerEmbedders.class.getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (name.startsWith("dev.langchain4j.")) {
                    throw new ClassNotFoundException(name);
                }
                return super.loadClass(name, resolve);
            }
        };

        assertThat(AnswerEmbedders.available(hidingLangchain4j).measure()).isEqualTo("token-jaccard");
    }

    @Test
    void paraphrasesAreCloseAndARefusalIsFarFromAnAnswer() {
        List<AnswerEmbedding> e = AnswerEmbedders.miniLm().embed(List.of(ANSWER, PARAPHRASE, REFUSAL));

        assertThat(e.get(0)).isInstanceOfSatisfying(UnitVector.class, v -> assertThat(v.dimensions()).isEqualTo(384));
        assertThat(e.get(0).similarity(e.get(1))).isGreaterThan(0.7);
        assertThat(e.get(0).similarity(e.get(2))).isLessThan(0.3);
        assertThat(e.get(0).similarity(e.get(0))).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-6));
    }

    @Test
    void blankTextsGetTheEmptyEmbeddingWithoutAskingTheModel() {
        List<AnswerEmbedding> e = AnswerEmbedders.miniLm().embed(List.of("", "  ", ANSWER));

        assertThat(e.get(0)).isSameAs(UnitVector.EMPTY);
        assertThat(e.get(0).similarity(e.get(1))).isEqualTo(1.0);
        assertThat(e.get(0).similarity(e.get(2))).isEqualTo(0.0);
    }

    @Test
    void tokenJaccardIsSharedDistinctWordsOverAllDistinctWords() {
        List<AnswerEmbedding> e = AnswerEmbedders.tokenJaccard().embed(List.of("The cat sat", "the cat ran", ""));

        assertThat(e.get(0).similarity(e.get(1))).isEqualTo(2.0 / 4);
        assertThat(e.get(2).similarity(e.get(2))).isEqualTo(1.0);
        assertThat(e.get(0).similarity(e.get(2))).isEqualTo(0.0);
    }
}
