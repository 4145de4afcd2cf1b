package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.ExecutionStatus;
import java.util.List;

/**
 * The answers of a job laid side by side: per question, per model, each region's answer, how
 * similar each pair of regions' answers is, and whether an answer looks like a refusal.
 *
 * @param measure how {@link Similarity#score()} is computed (e.g. {@code token-jaccard})
 */
public record Comparison(String jobId, String measure, List<QuestionComparison> questions) {

    public record QuestionComparison(String questionId, String text, List<ModelComparison> models) {
    }

    /** @param divergent true when some pair of regions scores below the divergence threshold or only some regions refused */
    public record ModelComparison(String modelId, List<RegionAnswer> regions, List<Similarity> similarities, boolean divergent) {
    }

    /**
     * @param refusal       the answer declines to answer (finish reason {@code content_filter} or a refusal phrase)
     * @param refusalReason why it was flagged, or {@code null}
     */
    public record RegionAnswer(String region, ExecutionStatus status, String text, String finishReason, Long latencyMs,
                               boolean refusal, String refusalReason, String errorCode) {
    }

    /** Similarity of two regions' answers, 0 (nothing shared) to 1 (same words). */
    public record Similarity(String regionA, String regionB, double score) {
    }
}
