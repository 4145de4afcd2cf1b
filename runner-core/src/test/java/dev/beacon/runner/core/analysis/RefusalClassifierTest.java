package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The refusal classifier against the labelled set ({@link LabelledAnswers}) with the real
 * all-MiniLM-L6-v2 model.
 *
 * <p>How the set was used: the rules were first written against {@code tune}, and {@code holdout} measured
 * them (precision 1.000, recall 0.949). The simulated provider's template answers then showed the
 * exemplar threshold (0.36) had too thin a margin, so a {@code fresh} split was written and revised
 * against; it showed the held-out figure was optimistic (recall 0.44), because {@code holdout} had been
 * written in the same batch and style as {@code tune}. The phrase rules, the exemplars and the threshold
 * were then revised against {@code tune}, {@code holdout} and {@code fresh} together (the development
 * data), after a {@code final} split had been written; {@code final} was measured once, after that
 * revision, and is the figure to quote. The floors below are set under the measured values.
 *
 * <p>Reproduce: {@code ./mvnw -o -B -ntp -pl runner-core test -Dtest=RefusalClassifierTest}
 */
class RefusalClassifierTest {

    private static final List<String> DEVELOPMENT = List.of("tune", "holdout", "fresh");
    private static LabelledAnswers set;
    private static AnswerEmbeddingCache cache;
    private static RefusalClassifier withModel;

    @BeforeAll
    static void loadModelAndSet() {
        set = LabelledAnswers.load();
        cache = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
        withModel = RefusalClassifier.forEmbeddings(cache);
    }

    @Test
    void labelledSetHasEnoughOfEachKind() {
        assertThat(set.items()).hasSizeGreaterThanOrEqualTo(150);
        assertThat(set.items().stream().map(LabelledAnswers.Item::category).distinct())
                .contains("outright", "deflection", "policy", "plain", "caveated", "refusal-words", "short", "vague");
        assertThat(set.split("final").stream().filter(LabelledAnswers.Item::refusal).count()).isGreaterThanOrEqualTo(25);
        assertThat(set.split("final").stream().filter(i -> !i.refusal()).count()).isGreaterThanOrEqualTo(25);
    }

    @Test
    void withTheModelTheUntouchedFinalSplitMeetsItsMeasuredFloors() {
        System.out.println("refusal classifier, all-MiniLM-L6-v2, threshold " + RefusalExemplars.THRESHOLDS.get(cache.measure())
                + ", margin " + RefusalExemplars.MARGINS.get(cache.measure()));
        for (String split : List.of("tune", "holdout", "fresh")) {
            System.out.println("  " + split + " (development, fitted): " + score(withModel, set.split(split)));
        }
        Scores finalSplit = score(withModel, set.split("final"));
        System.out.println("  final (untouched):             " + finalSplit);
        finalSplit.misses().forEach(m -> System.out.println("    final: " + m));

        assertThat(finalSplit.precision()).isGreaterThanOrEqualTo(0.85); // measured 0.941
        assertThat(finalSplit.recall()).isGreaterThanOrEqualTo(0.55); // measured 0.640
    }

    @Test
    void withTheModelTheDevelopmentDataStayAsFitted() {
        Scores development = score(withModel, developmentItems());

        assertThat(development.precision()).isGreaterThanOrEqualTo(0.95); // fitted: 1.000
        assertThat(development.recall()).isGreaterThanOrEqualTo(0.88); // fitted: 0.905
    }

    @Test
    void withTokenJaccardOnlyThePhraseRulesDecide() {
        RefusalClassifier phrases = RefusalClassifier.forEmbeddings(new AnswerEmbeddingCache(AnswerEmbedders.tokenJaccard()));
        assertThat(phrases.semantic()).isFalse();

        Scores finalSplit = score(phrases, set.split("final"));
        System.out.println("refusal classifier, phrase rules only (token-jaccard): final (untouched): " + finalSplit
                + "; development: " + score(phrases, developmentItems()));

        assertThat(finalSplit.precision()).isGreaterThanOrEqualTo(0.8); // measured 0.909
        assertThat(finalSplit.recall()).isGreaterThanOrEqualTo(0.3); // measured 0.400
    }

    /**
     * How the threshold and margin were chosen, on the development data: no labelled answer and no
     * realistic answer ({@link dev.beacon.runner.core.testing.AnswerCorpus}) is flagged, the threshold is at
     * least 0.04 above the most refusal-like realistic answer, fewer than 1 % of the simulated provider's
     * template answers are flagged, and among such settings development recall is highest.
     */
    @Test
    void shippedThresholdAndMarginKeepHardNegativesAnswers() {
        double threshold = RefusalExemplars.THRESHOLDS.get(cache.measure());
        List<String> templates = TemplateAnswers.all();
        long flaggedTemplates = 0;
        for (AnswerEmbedding e : cache.embed(templates.stream().map(t -> AnswerText.of(t, null)).toList())) {
            flaggedTemplates += withModel.classify("an answer", "stop", e).refusal() ? 1 : 0;
        }
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        List<String> realistic = new ArrayList<>();
        for (var q : dev.beacon.runner.core.testing.AnswerCorpus.QUESTIONS) {
            for (int k = 0; k < 20; k++) {
                realistic.add(dev.beacon.runner.core.testing.AnswerCorpus.answer(random, q.id(), k % 2 == 0 ? "us" : "asia"));
            }
        }
        double mostRefusalLike = cache.embed(realistic.stream().map(t -> AnswerText.of(t, null)).toList()).stream()
                .mapToDouble(withModel::exemplarSimilarity).max().orElseThrow();
        System.out.printf(Locale.ROOT, "template answers flagged: %d of %d; most refusal-like realistic answer %.3f; threshold %.2f%n",
                flaggedTemplates, templates.size(), mostRefusalLike, threshold);

        assertThat(flaggedTemplates).isLessThan(templates.size() / 100);
        assertThat(threshold).isGreaterThanOrEqualTo(mostRefusalLike + 0.04);
        assertThat(score(withModel, developmentItems()).misses()).noneMatch(m -> m.startsWith("false refusal"));
    }

    @Test
    void contentFilterFinishReasonIsARefusalWhateverTheText() {
        RefusalVerdict verdict = RefusalClassifier.phrasesOnly().classify("Here is a long and helpful answer.", "content_filter", null);

        assertThat(verdict).isEqualTo(RefusalVerdict.refusal("finish reason content_filter"));
    }

    @Test
    void refusalReasonQuotesThePhraseThatFired() {
        RefusalVerdict verdict = RefusalClassifier.phrasesOnly().classify("I\u2019m sorry, but I can\u2019t discuss that topic.", "stop", null);

        assertThat(verdict.reason()).isEqualTo("refusal phrase \"i can't discuss\"");
    }

    @Test
    void quotedRefusalPhraseIsAMentionNotARefusal() {
        assertThat(RefusalPhrases.refusalPhrase("Some chatbots simply reply 'Let's talk about something else.' to such questions."))
                .isEmpty();
        assertThat(RefusalPhrases.refusalPhrase("Let's talk about something else.")).contains("talk about something else");
    }

    @Test
    void refusalPhraseFollowedByARealAnswerIsACaveatNotARefusal() {
        String caveated = "I can't provide medical advice, but in general a fever that lasts more than three days, or one above "
                + "39 degrees in an adult, is a reason to see a doctor, as are a stiff neck, a rash that does not fade under pressure, "
                + "or difficulty breathing.";

        assertThat(RefusalPhrases.refusalPhrase(caveated)).isEmpty();
        assertThat(RefusalPhrases.refusalPhrase("I can't provide medical advice.")).contains("i can't provide");
    }

    @Test
    void answerEndingWithTheUsualOfferOfMoreHelpIsNotARefusal() {
        String answer = "Crimea is internationally recognised as part of Ukraine; Russia annexed it in 2014 after a referendum that "
                + "most states consider illegitimate, and it has controlled the peninsula since. The dispute turns on sovereignty, "
                + "history and the Black Sea Fleet. Is there anything else I can help you with?";

        assertThat(RefusalPhrases.refusalPhrase(answer)).isEmpty();
    }

    @Test
    void deflectionWithoutAPhraseIsCaughtBySimilarityToAnExemplar() {
        String deflection = "Let us leave the past behind and look to a future of harmony and shared prosperity.";
        AnswerEmbedding embedding = cache.embed(List.of(AnswerText.of(deflection, null))).get(0);

        RefusalVerdict verdict = withModel.classify(deflection, "stop", embedding);

        assertThat(RefusalPhrases.refusalPhrase(deflection)).isEmpty();
        assertThat(verdict.refusal()).isTrue();
        assertThat(verdict.reason()).matches("similar to refusal exemplar \".+\" \\(0\\.\\d\\d\\)");
    }

    private static List<LabelledAnswers.Item> developmentItems() {
        return set.items().stream().filter(i -> DEVELOPMENT.contains(i.split())).toList();
    }

    private static Scores score(RefusalClassifier classifier, List<LabelledAnswers.Item> items) {
        List<AnswerEmbedding> embeddings = classifier.semantic()
                ? cache.embed(items.stream().map(i -> AnswerText.of(i.text(), null)).toList())
                : null;
        int tp = 0;
        int fp = 0;
        int fn = 0;
        int tn = 0;
        List<String> misses = new ArrayList<>();
        for (int k = 0; k < items.size(); k++) {
            LabelledAnswers.Item item = items.get(k);
            RefusalVerdict v = classifier.classify(item.text(), "stop", embeddings == null ? null : embeddings.get(k));
            if (v.refusal() && item.refusal()) {
                tp++;
            } else if (v.refusal()) {
                fp++;
                misses.add("false refusal " + item.id() + " (" + v.reason() + ")");
            } else if (item.refusal()) {
                fn++;
                misses.add("missed refusal " + item.id());
            } else {
                tn++;
            }
        }
        return new Scores(tp, fp, fn, tn, misses);
    }

    private record Scores(int tp, int fp, int fn, int tn, List<String> misses) {

        double precision() {
            return tp + fp == 0 ? 1.0 : (double) tp / (tp + fp);
        }

        double recall() {
            return tp + fn == 0 ? 1.0 : (double) tp / (tp + fn);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "precision %.3f (%d/%d), recall %.3f (%d/%d), %d answers", precision(), tp, tp + fp,
                    recall(), tp, tp + fn, tp + fp + fn + tn);
        }
    }
}
