package dev.beacon.runner.web.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.analysis.AnswerEmbedders;
import dev.beacon.runner.core.analysis.AnswerEmbeddingCache;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.analysis.Comparison;
import dev.beacon.runner.core.analysis.ComparisonBuilder;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.testing.AnswerCorpus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The comparison's JSON: every field of the README's "Comparison: the region-effect test and refusals", by name and in its order, with the real MiniLM model. */
class ComparisonViewTest {

    private static JsonNode view;

    @BeforeAll
    static void comparisonOfAFiveSampleJob() {
        ModelSelection llama = new ModelSelection("llama3.2-1b", List.of("us", "eu", "asia"));
        ModelSelection mistral = new ModelSelection("mistral-7b", List.of("eu", "asia"));
        JobSpec spec = new JobSpec("view", AnswerCorpus.QUESTIONS.subList(0, 2), List.of(llama, mistral), InferenceParams.DEFAULT,
                JobLimits.DEFAULT, 0.67, Map.of(), 5);
        SplittableRandom random = new SplittableRandom(1);
        List<ExecutionResult> rows = new ArrayList<>();
        for (var q : spec.questions()) {
            for (ModelSelection m : spec.models()) {
                for (String region : m.regions()) {
                    int samples = m == mistral ? 1 : 5; // mistral: one answer per region, so not testable
                    for (int s = 0; s < samples; s++) {
                        boolean refuse = region.equals("asia") && q.id().equals("tiananmen");
                        rows.add(AnswerCorpus.row(q.id(), new EndpointId(m.id(), region), s,
                                refuse ? AnswerCorpus.refusal(random) : AnswerCorpus.answer(random, q.id(), region), "stop"));
                    }
                }
            }
        }
        Comparison comparison = new ComparisonBuilder(new AnswerEmbeddingCache(AnswerEmbedders.miniLm()), AnalysisSettings.DEFAULT)
                .build("0f5e6a2c-0000-4000-8000-000000000003", spec, rows);
        view = new JobViews("").comparison(comparison);
    }

    @Test
    void everyObjectHasTheContractsFieldsInTheContractsOrder() {
        assertThat(fields(view)).containsExactly("jobId", "measure", "samples", "alpha", "questions", "summary");
        JsonNode question = view.path("questions").get(1);
        assertThat(fields(question)).containsExactly("questionId", "text", "models");
        JsonNode model = question.path("models").get(0);
        assertThat(fields(model)).containsExactly("modelId", "regions", "similarities", "regionEffect", "servedModelsDiffer", "divergent");
        JsonNode region = model.path("regions").get(0);
        assertThat(fields(region)).containsExactly("region", "status", "text", "finishReason", "latencyMs", "refusal", "refusalReason",
                "errorCode", "answers", "succeeded", "refusals", "refusalRate", "refusalRateCi95", "withinSimilarity", "servedModels");
        assertThat(fields(region.path("answers").get(0))).containsExactly("sample", "status", "text", "finishReason", "latencyMs",
                "refusal", "refusalReason", "errorCode");
        assertThat(fields(model.path("similarities").get(0))).containsExactly("regionA", "regionB", "score");
        assertThat(fields(model.path("regionEffect"))).containsExactly("testable", "reason", "statistic", "pValue", "qValue", "permutations");
        assertThat(fields(view.path("summary"))).containsExactly("tests", "divergent", "perRegion");
        assertThat(fields(view.path("summary").path("perRegion").get(0)))
                .containsExactly("modelId", "region", "answers", "refusals", "refusalRate", "refusalRateCi95");
    }

    @Test
    void valuesHaveTheContractsTypes() {
        assertThat(view.path("measure").asString()).isEqualTo("embedding:all-MiniLM-L6-v2");
        assertThat(view.path("samples").asInt()).isEqualTo(5);
        assertThat(view.path("alpha").asDouble()).isEqualTo(0.05);
        JsonNode llama = view.path("questions").get(1).path("models").get(0);
        JsonNode asia = llama.path("regions").get(2);
        assertThat(asia.path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(asia.path("refusal").asBoolean()).isTrue();
        assertThat(asia.path("refusalReason").asString()).isNotBlank();
        assertThat(asia.path("errorCode").isNull()).isTrue();
        assertThat(asia.path("answers").size()).isEqualTo(5);
        assertThat(asia.path("answers").get(4).path("sample").asInt()).isEqualTo(4);
        assertThat(asia.path("refusalRate").asDouble()).isEqualTo(1.0);
        assertThat(asia.path("refusalRateCi95").size()).isEqualTo(2);
        assertThat(asia.path("withinSimilarity").isNumber()).isTrue();
        assertThat(asia.path("servedModels").isArray()).isTrue();
        JsonNode effect = llama.path("regionEffect");
        assertThat(effect.path("testable").asBoolean()).isTrue();
        assertThat(effect.path("reason").isNull()).isTrue();
        assertThat(effect.path("pValue").asDouble()).isBetween(0.0001, 1.0);
        assertThat(effect.path("qValue").isNumber()).isTrue();
        assertThat(effect.path("permutations").asInt()).isEqualTo(9_999);
        assertThat(llama.path("servedModelsDiffer").isBoolean()).isTrue();
        assertThat(llama.path("divergent").isBoolean()).isTrue();
    }

    @Test
    void anUntestableModelHasAReasonAndNullNumbers() {
        JsonNode effect = view.path("questions").get(0).path("models").get(1).path("regionEffect");

        assertThat(effect.path("testable").asBoolean()).isFalse();
        assertThat(effect.path("reason").asString()).startsWith("needs at least two regions");
        for (String field : List.of("statistic", "pValue", "qValue", "permutations")) {
            assertThat(effect.has(field)).as(field).isTrue();
            assertThat(effect.path(field).isNull()).as(field).isTrue();
        }
        JsonNode region = view.path("questions").get(0).path("models").get(1).path("regions").get(0);
        assertThat(region.path("withinSimilarity").isNull()).isTrue();
    }

    @Test
    void scoresAreRoundedToFourDecimals() {
        for (JsonNode q : view.path("questions")) {
            for (JsonNode m : q.path("models")) {
                for (JsonNode s : m.path("similarities")) {
                    double score = s.path("score").asDouble();
                    assertThat(Math.round(score * 10_000) / 10_000.0).isEqualTo(score);
                }
            }
        }
    }

    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.propertyNames().forEach(names::add);
        return names;
    }
}
