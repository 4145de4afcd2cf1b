package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.domain.ExecutionStatus;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The answers of a job laid side by side, with the region-effect statistics of the README's "Comparison: the region-effect test and refusals":
 * per question, per model, each region's answers (every sample), how similar the regions' answers are
 * to each other and within each region, refusals with their rate, and whether the region makes a
 * difference beyond chance. Components are declared in the order the JSON view lists them.
 *
 * <p>Numbers are rounded for display: similarities, statistics, rates and intervals to 4 decimals,
 * q-values to 4 significant digits; p-values are exact ((1 + k) / (1 + permutations)).
 *
 * @param measure how similarity is computed: {@code embedding:all-MiniLM-L6-v2} or {@code token-jaccard}
 * @param samples the job's samples per question and endpoint
 * @param alpha   the false discovery rate below which a q-value counts as divergent
 */
public record Comparison(String jobId, String measure, int samples, double alpha, List<QuestionComparison> questions,
                         Summary summary) {

    public Comparison {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(measure, "measure");
        questions = List.copyOf(questions);
        Objects.requireNonNull(summary, "summary");
    }

    /** One question across every model of the job. */
    public record QuestionComparison(String questionId, String text, List<ModelComparison> models) {

        public QuestionComparison {
            models = List.copyOf(models);
        }
    }

    /**
     * One model's regions on one question.
     *
     * @param similarities       every pair of regions that both have a succeeded answer
     * @param servedModelsDiffer the regions report different served models or system fingerprints
     * @param divergent          testable: {@code regionEffect.qValue < alpha}; otherwise some pair scores
     *                           below {@link ComparisonBuilder#DIVERGENCE_THRESHOLD} or only some regions refused
     */
    public record ModelComparison(String modelId, List<RegionAnswers> regions, List<Similarity> similarities,
                                  RegionEffect regionEffect, boolean servedModelsDiffer, boolean divergent) {

        public ModelComparison {
            regions = List.copyOf(regions);
            similarities = List.copyOf(similarities);
            Objects.requireNonNull(regionEffect, "regionEffect");
        }
    }

    /**
     * One region's answers. The fields up to {@code errorCode} describe sample 0, as in v1.
     *
     * @param status           sample 0's status, {@code null} while it has none
     * @param answers          every sample, in order; a sample not stored yet has a {@code null} status
     * @param succeeded        samples that succeeded
     * @param refusals         succeeded samples that are refusals
     * @param refusalRate      {@code refusals / succeeded}, {@code null} without a succeeded sample
     * @param refusalRateCi95  Wilson 95 % interval of the rate, {@code null} without a succeeded sample
     * @param withinSimilarity mean similarity over pairs of distinct succeeded samples, {@code null} below two
     * @param servedModels     the distinct served models the provider reported (empty when none did)
     */
    public record RegionAnswers(String region, @Nullable ExecutionStatus status, @Nullable String text, @Nullable String finishReason,
                                @Nullable Long latencyMs, boolean refusal, @Nullable String refusalReason, @Nullable String errorCode,
                                List<SampleAnswer> answers, int succeeded, int refusals, @Nullable Double refusalRate,
                                @Nullable List<Double> refusalRateCi95, @Nullable Double withinSimilarity, List<String> servedModels) {

        public RegionAnswers {
            answers = List.copyOf(answers);
            refusalRateCi95 = refusalRateCi95 == null ? null : List.copyOf(refusalRateCi95);
            servedModels = List.copyOf(servedModels);
            if (succeeded < 0 || refusals < 0 || refusals > succeeded) {
                throw new IllegalArgumentException("refusals and succeeded must satisfy 0 <= refusals <= succeeded, but were "
                        + refusals + " and " + succeeded);
            }
        }
    }

    /**
     * One sample of a region.
     *
     * @param refusal       the answer declines to answer (see {@link dev.beacon.runner.core.analysis.RefusalClassifier})
     * @param refusalReason the rule that said so, or {@code null}
     * @param status        {@code null} for a sample not stored yet; text and finish reason are a succeeded sample's,
     *                      latency that of a stored one, the error code that of one that did not succeed, else {@code null}
     */
    public record SampleAnswer(int sample, @Nullable ExecutionStatus status, @Nullable String text, @Nullable String finishReason,
                               @Nullable Long latencyMs, boolean refusal, @Nullable String refusalReason, @Nullable String errorCode) {
    }

    /** Mean similarity over every pair (answer of A, answer of B) of succeeded answers: 0 (nothing shared) to 1. */
    public record Similarity(String regionA, String regionB, double score) {
    }

    /**
     * The permutation test of region labels.
     *
     * @param testable     at least two regions have at least two succeeded answers
     * @param reason       why it is not testable, else {@code null}
     * @param statistic    mean distance between regions − mean distance within regions; {@code null} if not testable
     * @param pValue       {@code (1 + #{T_perm >= T_obs}) / (1 + permutations)}; {@code null} if not testable
     * @param qValue       Benjamini–Hochberg over every testable (question, model) of the job; {@code null} if not testable
     * @param permutations relabelings drawn; {@code null} if not testable
     */
    public record RegionEffect(boolean testable, @Nullable String reason, @Nullable Double statistic, @Nullable Double pValue,
                               @Nullable Double qValue, @Nullable Integer permutations) {

        public RegionEffect {
            if (testable == (reason != null)) {
                throw new IllegalArgumentException("reason must be given exactly when not testable, but testable was " + testable
                        + " and reason " + reason);
            }
        }

        /** Not testable, for the given reason. */
        public static RegionEffect untestable(String reason) {
            return new RegionEffect(false, Objects.requireNonNull(reason, "reason"), null, null, null, null);
        }
    }

    /**
     * The job at a glance.
     *
     * @param tests     testable (question, model)s
     * @param divergent divergent (question, model)s, by either rule
     * @param perRegion every (model, region) of the job, in the spec's order
     */
    public record Summary(int tests, int divergent, List<RegionSummary> perRegion) {

        public Summary {
            perRegion = List.copyOf(perRegion);
        }
    }

    /**
     * One endpoint's answers over every question.
     *
     * @param answers         succeeded answers
     * @param refusalRate     {@code refusals / answers}, {@code null} without an answer
     * @param refusalRateCi95 Wilson 95 % interval of the rate, {@code null} without an answer
     */
    public record RegionSummary(String modelId, String region, int answers, int refusals, @Nullable Double refusalRate,
                                @Nullable List<Double> refusalRateCi95) {

        public RegionSummary {
            refusalRateCi95 = refusalRateCi95 == null ? null : List.copyOf(refusalRateCi95);
        }
    }
}
