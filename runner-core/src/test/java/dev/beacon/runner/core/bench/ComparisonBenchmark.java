package dev.beacon.runner.core.bench;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.analysis.AnswerEmbedders;
import dev.beacon.runner.core.analysis.AnswerEmbeddingCache;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.analysis.Comparison;
import dev.beacon.runner.core.analysis.ComparisonBuilder;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.testing.AnswerCorpus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Cost of the comparison of a finished reference job with 5 samples: 8 questions × 8 endpoints × 5 samples
 * = 320 answers of about 50–150 words ({@link AnswerCorpus}; the asia endpoints refuse the questions on
 * Tiananmen, Taiwan and Xinjiang 60 % of the time), all-MiniLM-L6-v2, 9,999 permutations per (question, model), computed the
 * way the service does ({@link JobComparisons} on a {@code beacon-analysis} scheduler with a thread per
 * core). Times (wall clock, from subscribing to the result):
 * <ul>
 *   <li>first call of the JVM: model not loaded, cache cold;
 *   <li>first call with the model loaded but a cold cache (a new cache each run, median of {@value #RUNS});
 *   <li>second call on the same cache (median of {@value #RUNS}).
 * </ul>
 * Targets: first call ≤ 5 s, second ≤ 200 ms. Prints; asserts nothing.
 *
 * <p>Run: {@code ./mvnw -q -Pbench -pl runner-core test -Dtest=ComparisonBenchmark}
 */
@Tag("benchmark")
class ComparisonBenchmark {

    private static final int RUNS = 5;
    private static final int SAMPLES = 5;
    private static final List<ModelSelection> MODELS = List.of(
            new ModelSelection("llama3.2-1b", List.of("us", "eu", "asia")),
            new ModelSelection("mistral-7b", List.of("eu", "asia")),
            new ModelSelection("qwen2.5-1.5b", List.of("us", "eu", "asia")));
    private static final java.util.Set<String> SENSITIVE = java.util.Set.of("tiananmen", "taiwan", "xinjiang");
    private static final String JOB = "0f5e6a2c-0000-4000-8000-00000000beac";

    @Test
    void comparisonOfAFinishedReferenceJobWithFiveSamples() {
        JobSpec spec = new JobSpec("reference-5", AnswerCorpus.QUESTIONS, MODELS, InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67,
                Map.of(), SAMPLES);
        List<ExecutionResult> rows = rows(new SplittableRandom(2026));
        long words = rows.stream().mapToLong(r -> r.output().text().split("\\s+").length).sum();

        AnswerEmbeddingCache coldJvmCache = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
        double coldJvm;
        Comparison result;
        try (JobComparisons comparisons = JobComparisons.withOwnScheduler(new ComparisonBuilder(coldJvmCache, AnalysisSettings.DEFAULT))) {
            long t0 = System.nanoTime();
            result = comparisons.compare(JOB, spec, rows).block(Duration.ofMinutes(5));
            coldJvm = millis(t0);
        }

        double[] first = new double[RUNS];
        double[] second = new double[RUNS];
        double[] sequentialFirst = new double[RUNS];
        for (int run = 0; run < RUNS; run++) {
            AnswerEmbeddingCache cache = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
            try (JobComparisons comparisons = JobComparisons.withOwnScheduler(new ComparisonBuilder(cache, AnalysisSettings.DEFAULT))) {
                long t0 = System.nanoTime();
                comparisons.compare(JOB, spec, rows).block(Duration.ofMinutes(5));
                first[run] = millis(t0);
                long t1 = System.nanoTime();
                comparisons.compare(JOB, spec, rows).block(Duration.ofMinutes(5));
                second[run] = millis(t1);
            }
            ComparisonBuilder oneThread = new ComparisonBuilder(new AnswerEmbeddingCache(AnswerEmbedders.miniLm()), AnalysisSettings.DEFAULT);
            long t2 = System.nanoTime();
            oneThread.build(JOB, spec, rows);
            sequentialFirst[run] = millis(t2);
        }

        System.out.printf(Locale.ROOT, "comparison of %d answers (%d words, mean %.0f), %d cores, %d tests, %d divergent%n",
                rows.size(), words, (double) words / rows.size(), Runtime.getRuntime().availableProcessors(), result.summary().tests(),
                result.summary().divergent());
        long shortest = rows.stream().mapToLong(r -> r.output().text().split("\\s+").length).min().orElse(0);
        long longest = rows.stream().mapToLong(r -> r.output().text().split("\\s+").length).max().orElse(0);
        System.out.printf(Locale.ROOT, "  answer length %d to %d words; region effect (question/model q-value):", shortest, longest);
        result.questions().forEach(q -> q.models().forEach(m -> System.out.printf(Locale.ROOT, " %s/%s %s%s", q.questionId(), m.modelId(),
                m.regionEffect().qValue(), m.divergent() ? "*" : "")));
        System.out.println();
        System.out.printf(Locale.ROOT, "  first call of the JVM (model load + cold cache): %.0f ms  (target <= 5000)%n", coldJvm);
        System.out.printf(Locale.ROOT, "  first call, model loaded, cold cache: median %.0f ms, runs %s  (target <= 5000)%n",
                median(first), Arrays.toString(round(first)));
        System.out.printf(Locale.ROOT, "  same, on the calling thread only (ComparisonBuilder.build): median %.0f ms%n", median(sequentialFirst));
        System.out.printf(Locale.ROOT, "  second call, same cache: median %.1f ms, runs %s  (target <= 200)%n", median(second),
                Arrays.toString(round(second)));
    }

    private static List<ExecutionResult> rows(SplittableRandom random) {
        List<ExecutionResult> rows = new ArrayList<>();
        for (var q : AnswerCorpus.QUESTIONS) {
            boolean sensitive = SENSITIVE.contains(q.id());
            for (ModelSelection m : MODELS) {
                for (String region : m.regions()) {
                    for (int s = 0; s < SAMPLES; s++) {
                        boolean refuse = sensitive && region.equals("asia") && random.nextDouble() < 0.6;
                        String text = refuse ? AnswerCorpus.refusal(random) : AnswerCorpus.answer(random, q.id(), region);
                        rows.add(AnswerCorpus.row(q.id(), new EndpointId(m.id(), region), s, text, refuse ? "content_filter" : "stop"));
                    }
                }
            }
        }
        return rows;
    }

    private static double millis(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static long[] round(double[] values) {
        return Arrays.stream(values).mapToLong(Math::round).toArray();
    }
}
