package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Compares one model's regions on one question: embeds and classifies every succeeded answer, scores
 * similarity between and within regions, and runs the region-effect permutation test. Everything but the
 * q-value, which needs every test of the job ({@link ComparisonBuilder}). Blocking CPU work.
 */
final class ModelComparer {

    private final AnswerEmbeddingCache embeddings;
    private final RefusalClassifier refusals;
    private final RegionLabelPermutation permutation;
    private final Function<ExecutionResult, @Nullable ServedIdentity> servedBy;

    ModelComparer(AnswerEmbeddingCache embeddings, RefusalClassifier refusals, RegionLabelPermutation permutation,
                  Function<ExecutionResult, @Nullable ServedIdentity> servedBy) {
        this.embeddings = embeddings;
        this.refusals = refusals;
        this.permutation = permutation;
        this.servedBy = servedBy;
    }

    /** The stored rows of one (question, model): per region in the spec's order, one slot per sample ({@code null}: not stored). */
    record Group(String jobId, String questionId, String modelId, List<String> regions, List<@Nullable ExecutionResult[]> samples) {
    }

    /**
     * The comparison of a group before the job-wide q-values.
     *
     * @param pValue      the unrounded p-value, {@code NaN} if not testable
     * @param ruleOfThumb the v1 rule: some pair below the threshold, or only some regions refused
     */
    record Draft(String modelId, List<Comparison.RegionAnswers> regions, List<Comparison.Similarity> similarities,
                 Comparison.RegionEffect effect, double pValue, boolean servedModelsDiffer, boolean ruleOfThumb) {
    }

    Draft compare(Group group) {
        int regionCount = group.regions().size();
        List<List<ExecutionResult>> succeeded = new ArrayList<>();
        List<AnswerText> texts = new ArrayList<>();
        for (@Nullable ExecutionResult[] slots : group.samples()) {
            List<ExecutionResult> ok = new ArrayList<>();
            for (ExecutionResult r : slots) {
                if (r != null && r.status() == ExecutionStatus.SUCCEEDED) {
                    ok.add(r);
                    texts.add(AnswerText.of(Objects.requireNonNull(r.output(), "a SUCCEEDED result has an output").text(),
                            r.receipt() == null ? null : r.receipt().outputSha256()));
                }
            }
            succeeded.add(ok);
        }
        List<AnswerEmbedding> embedded = embeddings.embed(texts);
        DistanceMatrix distances = DistanceMatrix.of(embedded);

        int[] offsets = new int[regionCount + 1];
        for (int g = 0; g < regionCount; g++) {
            offsets[g + 1] = offsets[g] + succeeded.get(g).size();
        }
        List<Comparison.RegionAnswers> regions = new ArrayList<>();
        Set<String> servedModels = new LinkedHashSet<>();
        Set<String> fingerprints = new LinkedHashSet<>();
        boolean[] refused = new boolean[regionCount];
        for (int g = 0; g < regionCount; g++) {
            RegionTally tally = regionAnswers(group.regions().get(g), group.samples().get(g), embedded, offsets[g], distances,
                    offsets[g + 1] - offsets[g]);
            regions.add(tally.answers());
            refused[g] = tally.answers().refusals() > 0;
            servedModels.addAll(tally.answers().servedModels());
            fingerprints.addAll(tally.fingerprints());
        }

        List<Comparison.Similarity> similarities = new ArrayList<>();
        boolean lowPair = false;
        for (int a = 0; a < regionCount; a++) {
            for (int b = a + 1; b < regionCount; b++) {
                if (offsets[a + 1] == offsets[a] || offsets[b + 1] == offsets[b]) {
                    continue;
                }
                double sum = 0;
                for (int i = offsets[a]; i < offsets[a + 1]; i++) {
                    for (int j = offsets[b]; j < offsets[b + 1]; j++) {
                        sum += 1 - distances.distance(i, j);
                    }
                }
                double score = sum / ((offsets[a + 1] - offsets[a]) * (offsets[b + 1] - offsets[b]));
                lowPair |= score < ComparisonBuilder.DIVERGENCE_THRESHOLD;
                similarities.add(new Comparison.Similarity(group.regions().get(a), group.regions().get(b), Rounding.decimals(score)));
            }
        }
        boolean someRefused = false;
        boolean someAnswered = false;
        for (int g = 0; g < regionCount; g++) {
            if (offsets[g + 1] > offsets[g]) {
                someRefused |= refused[g];
                someAnswered |= !refused[g];
            }
        }

        int[] sizes = new int[regionCount];
        int testableRegions = 0;
        for (int g = 0; g < regionCount; g++) {
            sizes[g] = offsets[g + 1] - offsets[g];
            testableRegions += sizes[g] >= 2 ? 1 : 0;
        }
        Comparison.RegionEffect effect;
        double pValue = Double.NaN;
        if (testableRegions >= 2) {
            var outcome = permutation.test(distances, sizes,
                    RegionLabelPermutation.seed(group.jobId(), group.questionId(), group.modelId()));
            pValue = outcome.pValue();
            effect = new Comparison.RegionEffect(true, null, Rounding.decimals(outcome.statistic()), pValue, null,
                    outcome.permutations());
        } else {
            effect = Comparison.RegionEffect.untestable(untestableReason(group.regions(), sizes));
        }
        return new Draft(group.modelId(), regions, similarities, effect, pValue,
                servedModels.size() > 1 || fingerprints.size() > 1, lowPair || (someRefused && someAnswered));
    }

    private record RegionTally(Comparison.RegionAnswers answers, Set<String> fingerprints) {
    }

    private RegionTally regionAnswers(String region, @Nullable ExecutionResult[] slots, List<AnswerEmbedding> embedded, int offset,
                                      DistanceMatrix distances, int count) {
        List<Comparison.SampleAnswer> answers = new ArrayList<>(slots.length);
        Set<String> servedModels = new LinkedHashSet<>();
        Set<String> fingerprints = new LinkedHashSet<>();
        int next = offset;
        int refusalCount = 0;
        for (int s = 0; s < slots.length; s++) {
            ExecutionResult r = slots[s];
            if (r == null) {
                answers.add(new Comparison.SampleAnswer(s, null, null, null, null, false, null, null));
                continue;
            }
            ServedIdentity served = servedBy.apply(r);
            if (served != null) {
                if (served.servedModel() != null) {
                    servedModels.add(served.servedModel());
                }
                if (served.systemFingerprint() != null) {
                    fingerprints.add(served.systemFingerprint());
                }
            }
            if (r.status() != ExecutionStatus.SUCCEEDED) {
                answers.add(new Comparison.SampleAnswer(s, r.status(), null, null, r.latencyMs(), false, null,
                        r.error() == null ? null : r.error().code()));
                continue;
            }
            InferenceOutput output = Objects.requireNonNull(r.output(), "a SUCCEEDED result has an output");
            String text = output.text();
            String finish = output.finishReason();
            RefusalVerdict verdict = refusals.classify(text, finish, embedded.get(next++));
            refusalCount += verdict.refusal() ? 1 : 0;
            answers.add(new Comparison.SampleAnswer(s, r.status(), text, finish, r.latencyMs(), verdict.refusal(), verdict.reason(), null));
        }
        Double within = null;
        if (count >= 2) {
            double sum = 0;
            for (int i = offset; i < offset + count; i++) {
                for (int j = i + 1; j < offset + count; j++) {
                    sum += 1 - distances.distance(i, j);
                }
            }
            within = Rounding.decimals(sum / ((double) count * (count - 1) / 2));
        }
        Double rate = count == 0 ? null : Rounding.decimals((double) refusalCount / count);
        List<Double> ci = count == 0 ? null : interval(refusalCount, count);
        Comparison.SampleAnswer first = answers.isEmpty()
                ? new Comparison.SampleAnswer(0, null, null, null, null, false, null, null) : answers.get(0);
        Comparison.RegionAnswers regionAnswers = new Comparison.RegionAnswers(region, first.status(), first.text(), first.finishReason(),
                first.latencyMs(), first.refusal(), first.refusalReason(), first.errorCode(), answers, count, refusalCount, rate, ci,
                within, List.copyOf(servedModels));
        return new RegionTally(regionAnswers, fingerprints);
    }

    /** The Wilson 95 % interval, rounded to 4 decimals. */
    static List<Double> interval(int refusals, int answers) {
        WilsonInterval ci = WilsonInterval.of(refusals, answers);
        return List.of(Rounding.decimals(ci.lower()), Rounding.decimals(ci.upper()));
    }

    private static String untestableReason(List<String> regions, int[] sizes) {
        StringJoiner counts = new StringJoiner(", ");
        for (int g = 0; g < regions.size(); g++) {
            counts.add(regions.get(g) + " " + sizes[g]);
        }
        if (regions.size() < 2) {
            return "the model is asked in one region only (succeeded answers: " + counts + ")";
        }
        return "needs at least two regions with two or more succeeded answers (succeeded answers: " + counts + ")";
    }
}
