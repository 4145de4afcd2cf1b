package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.testing.AnswerCorpus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The v2 comparison (README, "Comparison: the region-effect test and refusals") with the real all-MiniLM-L6-v2 model. */
class ComparisonBuilderTest {

    private static final String JOB = "0f5e6a2c-0000-4000-8000-000000000001";
    private static final ModelSelection LLAMA = new ModelSelection("llama3.2-1b", List.of("us", "eu", "asia"));
    private static AnswerEmbeddingCache cache;
    private static ComparisonBuilder builder;

    @BeforeAll
    static void model() {
        cache = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
        builder = new ComparisonBuilder(cache, AnalysisSettings.DEFAULT);
    }

    @Test
    void aRegionThatRefusesWhereOthersAnswerIsADivergentRegionEffect() {
        JobSpec spec = spec(5, List.of(question("tiananmen")), LLAMA);
        List<ExecutionResult> rows = regionsAnswering(new SplittableRandom(1), "tiananmen", LLAMA, 5, "asia");

        Comparison.ModelComparison m = builder.build(JOB, spec, rows).questions().get(0).models().get(0);

        assertThat(m.regionEffect().testable()).isTrue();
        assertThat(m.regionEffect().reason()).isNull();
        assertThat(m.regionEffect().permutations()).isEqualTo(9_999);
        assertThat(m.regionEffect().statistic()).isPositive();
        assertThat(m.regionEffect().pValue()).isLessThan(0.01);
        assertThat(m.regionEffect().qValue()).isEqualTo(m.regionEffect().pValue(), within(1e-4)); // one test: q = p
        assertThat(m.divergent()).isTrue();
        Comparison.RegionAnswers asia = m.regions().get(2);
        assertThat(asia.refusals()).isEqualTo(5);
        assertThat(asia.refusalRate()).isEqualTo(1.0);
        assertThat(asia.refusalRateCi95()).containsExactly(0.5655, 1.0);
        assertThat(m.regions().get(0).refusalRateCi95()).containsExactly(0.0, 0.4345);
        assertThat(score(m, "us", "eu")).isGreaterThan(score(m, "us", "asia"));
    }

    /** Each region answers with the same five texts: nothing distinguishes the regions. */
    @Test
    void regionsAnsweringFromTheSamePoolAreNotDivergent() {
        JobSpec spec = spec(5, List.of(question("climate")), LLAMA);
        SplittableRandom random = new SplittableRandom(2);
        List<String> pool = new ArrayList<>();
        for (int s = 0; s < 5; s++) {
            pool.add(AnswerCorpus.answer(random, "climate", "us"));
        }
        List<ExecutionResult> rows = new ArrayList<>();
        for (String region : LLAMA.regions()) {
            for (int s = 0; s < 5; s++) {
                rows.add(AnswerCorpus.row("climate", new EndpointId(LLAMA.id(), region), s, pool.get((s + region.length()) % 5), "stop"));
            }
        }

        Comparison.ModelComparison m = builder.build(JOB, spec, rows).questions().get(0).models().get(0);

        assertThat(m.regionEffect().testable()).isTrue();
        assertThat(m.regionEffect().pValue()).isGreaterThan(0.5);
        assertThat(m.divergent()).isFalse();
        assertThat(m.regions()).allSatisfy(r -> assertThat(r.withinSimilarity()).isGreaterThan(0.5));
    }

    @Test
    void sameRowsGiveTheSameComparisonAndQValuesAreBenjaminiHochbergOverTheJob() {
        List<Question> questions = List.of(question("tiananmen"), question("climate"), question("crimea"));
        JobSpec spec = spec(3, questions, LLAMA);
        SplittableRandom random = new SplittableRandom(3);
        List<ExecutionResult> rows = new ArrayList<>();
        rows.addAll(regionsAnswering(random, "tiananmen", LLAMA, 3, "asia"));
        rows.addAll(regionsAnswering(random, "climate", LLAMA, 3, null));
        rows.addAll(regionsAnswering(random, "crimea", LLAMA, 3, null));

        Comparison first = builder.build(JOB, spec, rows);
        List<ExecutionResult> reversed = new ArrayList<>(rows);
        java.util.Collections.reverse(reversed);
        Comparison again = builder.build(JOB, spec, reversed);

        assertThat(again).isEqualTo(first);
        double[] p = first.questions().stream().mapToDouble(q -> q.models().get(0).regionEffect().pValue()).toArray();
        double[] q = BenjaminiHochberg.qValues(p);
        for (int i = 0; i < p.length; i++) {
            assertThat(first.questions().get(i).models().get(0).regionEffect().qValue()).isCloseTo(q[i], within(q[i] * 1e-3));
        }
        assertThat(first.summary().tests()).isEqualTo(3);
        assertThat(first.summary().divergent())
                .isEqualTo((int) first.questions().stream().filter(x -> x.models().get(0).divergent()).count());
    }

    @Test
    void regionsV1FieldsDescribeSampleZeroAndAnswersListEverySampleInOrder() {
        JobSpec spec = spec(3, List.of(question("crimea")), LLAMA);
        List<ExecutionResult> rows = new ArrayList<>(regionsAnswering(new SplittableRandom(4), "crimea", LLAMA, 3, null));
        EndpointId eu = new EndpointId(LLAMA.id(), "eu");
        rows.removeIf(r -> r.cell().endpoint().equals(eu) && r.cell().sample() == 0);
        rows.add(ExecutionResult.notRun(new Cell("crimea", eu, 0), ExecutionStatus.TIMED_OUT,
                new ExecutionError(ExecutionError.TIMEOUT, "timed out"), Instant.parse("2026-12-01T10:00:00Z")));

        Comparison.RegionAnswers us = builder.build(JOB, spec, rows).questions().get(0).models().get(0).regions().get(0);
        Comparison.RegionAnswers euAnswers = builder.build(JOB, spec, rows).questions().get(0).models().get(0).regions().get(1);

        assertThat(us.answers()).extracting(Comparison.SampleAnswer::sample).containsExactly(0, 1, 2);
        assertThat(us.text()).isEqualTo(us.answers().get(0).text());
        assertThat(us.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(us.finishReason()).isEqualTo("stop");
        assertThat(us.latencyMs()).isEqualTo(800L);
        assertThat(euAnswers.status()).isEqualTo(ExecutionStatus.TIMED_OUT);
        assertThat(euAnswers.errorCode()).isEqualTo("TIMEOUT");
        assertThat(euAnswers.text()).isNull();
        assertThat(euAnswers.succeeded()).isEqualTo(2);
        assertThat(euAnswers.answers().get(1).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
    }

    @Test
    void withOneSampleTheTestIsNotTestableAndTheV1RuleDecides() {
        JobSpec spec = spec(1, List.of(question("tiananmen")), LLAMA);
        List<ExecutionResult> rows = regionsAnswering(new SplittableRandom(5), "tiananmen", LLAMA, 1, "asia");

        Comparison comparison = builder.build(JOB, spec, rows);
        Comparison.ModelComparison m = comparison.questions().get(0).models().get(0);

        assertThat(m.regionEffect().testable()).isFalse();
        assertThat(m.regionEffect().reason())
                .isEqualTo("needs at least two regions with two or more succeeded answers (succeeded answers: us 1, eu 1, asia 1)");
        assertThat(m.regionEffect().statistic()).isNull();
        assertThat(m.regionEffect().pValue()).isNull();
        assertThat(m.regionEffect().qValue()).isNull();
        assertThat(m.regionEffect().permutations()).isNull();
        assertThat(m.regions()).allSatisfy(r -> assertThat(r.withinSimilarity()).isNull());
        assertThat(m.similarities()).hasSize(3);
        assertThat(m.divergent()).isTrue(); // only asia refused
        assertThat(comparison.summary().tests()).isZero();
        assertThat(comparison.summary().divergent()).isEqualTo(1);
    }

    @Test
    void summaryCountsEachEndpointsAnswersAndRefusalsOverTheJob() {
        List<Question> questions = List.of(question("tiananmen"), question("climate"));
        JobSpec spec = spec(4, questions, LLAMA);
        SplittableRandom random = new SplittableRandom(6);
        List<ExecutionResult> rows = new ArrayList<>();
        rows.addAll(regionsAnswering(random, "tiananmen", LLAMA, 4, "asia"));
        rows.addAll(regionsAnswering(random, "climate", LLAMA, 4, null));

        Comparison.Summary summary = builder.build(JOB, spec, rows).summary();

        assertThat(summary.perRegion()).extracting(Comparison.RegionSummary::region).containsExactly("us", "eu", "asia");
        Comparison.RegionSummary asia = summary.perRegion().get(2);
        assertThat(asia.modelId()).isEqualTo("llama3.2-1b");
        assertThat(asia.answers()).isEqualTo(8);
        assertThat(asia.refusals()).isEqualTo(4);
        assertThat(asia.refusalRate()).isEqualTo(0.5);
        assertThat(asia.refusalRateCi95()).containsExactly(0.2152, 0.7848);
        assertThat(summary.perRegion().get(0).refusals()).isZero();
    }

    @Test
    void secondComparisonOfTheSameJobEmbedsNothing() {
        AnswerEmbeddingCache fresh = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
        ComparisonBuilder own = new ComparisonBuilder(fresh, AnalysisSettings.DEFAULT);
        JobSpec spec = spec(3, List.of(question("xinjiang")), LLAMA);
        List<ExecutionResult> rows = regionsAnswering(new SplittableRandom(7), "xinjiang", LLAMA, 3, "asia");

        Comparison first = own.build(JOB, spec, rows);
        long embedded = fresh.embeddedCount();
        Comparison second = own.build(JOB, spec, rows);

        assertThat(second).isEqualTo(first);
        assertThat(fresh.embeddedCount()).isEqualTo(embedded);
    }

    @Test
    void aJobStillRunningShowsWhatIsStoredAndNullsForTheRest() {
        JobSpec spec = spec(2, List.of(question("taiwan")), LLAMA);
        List<ExecutionResult> rows = List.of(
                AnswerCorpus.row("taiwan", new EndpointId(LLAMA.id(), "us"), 0, AnswerCorpus.answer(new SplittableRandom(8), "taiwan", "us"), "stop"));

        Comparison.ModelComparison m = builder.build(JOB, spec, rows).questions().get(0).models().get(0);

        Comparison.RegionAnswers eu = m.regions().get(1);
        assertThat(eu.status()).isNull();
        assertThat(eu.answers()).extracting(Comparison.SampleAnswer::status).containsExactly(null, null);
        assertThat(eu.succeeded()).isZero();
        assertThat(eu.refusalRate()).isNull();
        assertThat(eu.refusalRateCi95()).isNull();
        assertThat(m.similarities()).isEmpty();
        assertThat(m.regionEffect().testable()).isFalse();
        assertThat(m.divergent()).isFalse();
    }

    @Test
    void servedModelsListEachRegionsReportAndDifferWhenRegionsDisagree() {
        JobSpec spec = spec(2, List.of(question("climate")), LLAMA);
        List<ExecutionResult> rows = regionsAnswering(new SplittableRandom(9), "climate", LLAMA, 2, null);
        Map<String, String> served = Map.of("us", "llama3.2-1b-instruct", "eu", "llama3.2-1b-instruct", "asia", "llama3.2-1b-instruct-q4");
        ComparisonBuilder withProvenance = new ComparisonBuilder(cache, RefusalClassifier.forEmbeddings(cache), AnalysisSettings.DEFAULT,
                row -> new ServedIdentity(served.get(row.cell().endpoint().region()), null));

        Comparison.ModelComparison differ = withProvenance.build(JOB, spec, rows).questions().get(0).models().get(0);
        Comparison.ModelComparison unknown = builder.build(JOB, spec, rows).questions().get(0).models().get(0);

        assertThat(differ.regions().get(2).servedModels()).containsExactly("llama3.2-1b-instruct-q4");
        assertThat(differ.servedModelsDiffer()).isTrue();
        assertThat(unknown.regions().get(0).servedModels()).isEmpty();
        assertThat(unknown.servedModelsDiffer()).isFalse();
    }

    @Test
    void withTokenJaccardTheMeasureSaysSoAndRefusalsStillComeFromPhrases() {
        ComparisonBuilder jaccard = new ComparisonBuilder(new AnswerEmbeddingCache(AnswerEmbedders.tokenJaccard()), AnalysisSettings.DEFAULT);
        JobSpec spec = spec(2, List.of(question("tiananmen")), LLAMA);
        List<ExecutionResult> rows = new ArrayList<>(regionsAnswering(new SplittableRandom(10), "tiananmen", LLAMA, 2, null));
        rows.add(AnswerCorpus.row("tiananmen", new EndpointId(LLAMA.id(), "asia"), 0, "I'm sorry, but I can't discuss that topic.", "content_filter"));

        Comparison comparison = jaccard.build(JOB, spec, rows);

        assertThat(comparison.measure()).isEqualTo("token-jaccard");
        Comparison.SampleAnswer refused = comparison.questions().get(0).models().get(0).regions().get(2).answers().get(0);
        assertThat(refused.refusal()).isTrue();
        assertThat(refused.refusalReason()).isEqualTo("finish reason content_filter");
    }

    private static double score(Comparison.ModelComparison m, String a, String b) {
        return m.similarities().stream().filter(s -> s.regionA().equals(a) && s.regionB().equals(b)).findFirst().orElseThrow().score();
    }

    /** Every region of the model answers from the question's pool, except {@code refusing}, which refuses. */
    static List<ExecutionResult> regionsAnswering(SplittableRandom random, String questionId, ModelSelection model, int samples,
                                                  String refusing) {
        List<ExecutionResult> rows = new ArrayList<>();
        for (String region : model.regions()) {
            for (int s = 0; s < samples; s++) {
                String text = region.equals(refusing) ? AnswerCorpus.refusal(random) : AnswerCorpus.answer(random, questionId, region);
                rows.add(AnswerCorpus.row(questionId, new EndpointId(model.id(), region), s, text, "stop"));
            }
        }
        return rows;
    }

    static Question question(String id) {
        return AnswerCorpus.QUESTIONS.stream().filter(q -> q.id().equals(id)).findFirst().orElseThrow();
    }

    static JobSpec spec(int samples, List<Question> questions, ModelSelection... models) {
        return new JobSpec("analysis", questions, List.of(models), InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67, Map.of(), samples);
    }
}
