package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Drift between two runs (README, "Comparison: the region-effect test and refusals", {@code ?baseline=}): per question × endpoint, how alike this
 * job's answers are to a baseline job's (mean similarity over every pair of one answer from each),
 * and, when both have at least two succeeded answers, a permutation test of the run labels (the same
 * test as the region effect, with two groups: this run and the baseline), seeded from both job ids,
 * the question and the endpoint. {@code changed}: p below alpha; with a single answer on either side,
 * similarity below {@value ComparisonBuilder#DIVERGENCE_THRESHOLD}. Blocking CPU work (embeddings):
 * run it on the analysis scheduler.
 */
public final class RunDrift {

    /**
     * One question × endpoint against the baseline. Figures are {@code null} when either run has no
     * succeeded answer there (including a question or endpoint that only one of them asked).
     *
     * @param answers the baseline's succeeded answers there
     */
    public record Baseline(String jobId, int answers, @Nullable Double similarity, @Nullable Boolean changed, @Nullable Double pValue) {
    }

    private final AnswerEmbeddingCache embeddings;
    private final AnalysisSettings settings;
    private final RegionLabelPermutation permutation;

    public RunDrift(AnswerEmbeddingCache embeddings, AnalysisSettings settings) {
        this.embeddings = Objects.requireNonNull(embeddings, "embeddings");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.permutation = new RegionLabelPermutation(settings.permutations());
    }

    /** The key of a question × endpoint in {@link #compare}'s answer. */
    public static String key(String questionId, String endpoint) {
        return questionId + "\u0000" + endpoint;
    }

    /** Per {@link #key}, for every question × endpoint either job has, this job's drift from {@code baseline}. */
    public Map<String, Baseline> compare(String jobId, List<ExecutionResult> rows, String baselineId, List<ExecutionResult> baseline) {
        Map<String, List<AnswerText>> these = succeeded(rows);
        Map<String, List<AnswerText>> those = succeeded(baseline);
        Set<String> keys = new LinkedHashSet<>(cellsOf(rows));
        keys.addAll(cellsOf(baseline));
        Map<String, Baseline> result = new LinkedHashMap<>();
        for (String key : keys) {
            List<AnswerText> a = these.getOrDefault(key, List.of());
            List<AnswerText> b = those.getOrDefault(key, List.of());
            result.put(key, a.isEmpty() || b.isEmpty() ? new Baseline(baselineId, b.size(), null, null, null)
                    : drift(jobId, baselineId, key, a, b));
        }
        return result;
    }

    private Baseline drift(String jobId, String baselineId, String key, List<AnswerText> a, List<AnswerText> b) {
        List<AnswerText> all = new ArrayList<>(a);
        all.addAll(b);
        DistanceMatrix distances = DistanceMatrix.of(embeddings.embed(all));
        double sum = 0;
        for (int i = 0; i < a.size(); i++) {
            for (int j = 0; j < b.size(); j++) {
                sum += 1 - distances.distance(i, a.size() + j);
            }
        }
        double similarity = sum / ((double) a.size() * b.size());
        if (a.size() < 2 || b.size() < 2) {
            return new Baseline(baselineId, b.size(), Rounding.decimals(similarity), similarity < ComparisonBuilder.DIVERGENCE_THRESHOLD, null);
        }
        String[] parts = key.split("\u0000", 2);
        long seed = RegionLabelPermutation.seed(jobId, parts[0] + "\n" + baselineId, parts[1]);
        double p = permutation.test(distances, new int[] {a.size(), b.size()}, seed).pValue();
        return new Baseline(baselineId, b.size(), Rounding.decimals(similarity), p < settings.alpha(), p);
    }

    private static Map<String, List<AnswerText>> succeeded(List<ExecutionResult> rows) {
        Map<String, List<AnswerText>> byCell = new LinkedHashMap<>();
        for (ExecutionResult r : rows) {
            if (r.status() == ExecutionStatus.SUCCEEDED) {
                byCell.computeIfAbsent(key(r.cell().questionId(), r.cell().endpoint().toString()), k -> new ArrayList<>())
                        .add(AnswerText.of(Objects.requireNonNull(r.output(), "a SUCCEEDED result has an output").text(),
                                r.receipt() == null ? null : r.receipt().outputSha256()));
            }
        }
        return byCell;
    }

    private static List<String> cellsOf(List<ExecutionResult> rows) {
        return rows.stream().map(r -> key(r.cell().questionId(), r.cell().endpoint().toString())).distinct().toList();
    }
}
