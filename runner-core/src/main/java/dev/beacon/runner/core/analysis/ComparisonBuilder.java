package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Builds the comparison of the README's "Comparison: the region-effect test and refusals" from a job's spec and stored rows: per question and
 * model, each region's answers, refusals (see {@link RefusalClassifier}), similarity between and within
 * regions (by the cache's measure), and the region-effect permutation test, then Benjamini–Hochberg
 * q-values over every testable (question, model) of the job and the job's summary. A pure function of
 * the rows (the p-values are seeded from the ids), so it can be recomputed at any time, also while the
 * job runs.
 *
 * <p>It is blocking CPU work: embeddings (each answer once, then from the cache) and up to
 * {@code permutations} relabelings per (question, model). {@link #build} runs on the caller's thread;
 * {@link JobComparisons} runs it on a bounded scheduler of its own.
 */
public final class ComparisonBuilder {

    /** The v1 rule's threshold: a pair of regions scoring below it is divergent when the test is not testable. */
    public static final double DIVERGENCE_THRESHOLD = 0.5;

    private final AnswerEmbeddingCache embeddings;
    private final AnalysisSettings settings;
    private final ModelComparer comparer;

    /**
     * @param refusals must expect the cache's embeddings when it has a semantic rule
     * @param servedBy what each row's provider said it served (its provenance); may return {@code null}
     */
    public ComparisonBuilder(AnswerEmbeddingCache embeddings, RefusalClassifier refusals, AnalysisSettings settings,
                             Function<ExecutionResult, @Nullable ServedIdentity> servedBy) {
        this.embeddings = Objects.requireNonNull(embeddings, "embeddings");
        Objects.requireNonNull(refusals, "refusals");
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(servedBy, "servedBy");
        if (refusals.semantic() && !Objects.equals(refusals.measure(), embeddings.measure())) {
            throw new IllegalArgumentException("refusals must use the embeddings' measure " + embeddings.measure() + ", but used "
                    + refusals.measure());
        }
        this.comparer = new ModelComparer(embeddings, refusals, new RegionLabelPermutation(settings.permutations()), servedBy);
    }

    /** The classifier that goes with the cache ({@link RefusalClassifier#forEmbeddings}); served models from each row's provenance. */
    public ComparisonBuilder(AnswerEmbeddingCache embeddings, AnalysisSettings settings) {
        this(embeddings, RefusalClassifier.forEmbeddings(embeddings), settings, ComparisonBuilder::servedIdentity);
    }

    /** What the row's provider said it served, from its provenance; {@code null} for a row without an answer. */
    static @Nullable ServedIdentity servedIdentity(ExecutionResult row) {
        return row.output() == null ? null
                : new ServedIdentity(row.output().provenance().servedModel(), row.output().provenance().systemFingerprint());
    }

    /** The embeddings (and their cache) this builder compares with. */
    public AnswerEmbeddingCache embeddings() {
        return embeddings;
    }

    /** The settings in use. */
    public AnalysisSettings settings() {
        return settings;
    }

    /** The similarity measure, e.g. {@code embedding:all-MiniLM-L6-v2}. */
    public String measure() {
        return embeddings.measure();
    }

    /**
     * The comparison, computed on the calling thread (blocking).
     *
     * @param rows the job's stored executions, any order; rows of cells outside the spec are ignored
     * @throws IllegalStateException if the embedding model cannot be loaded or run
     */
    public Comparison build(String jobId, JobSpec spec, List<ExecutionResult> rows) {
        List<ModelComparer.Group> groups = groups(jobId, spec, rows);
        List<ModelComparer.Draft> drafts = new ArrayList<>(groups.size());
        for (ModelComparer.Group g : groups) {
            drafts.add(compare(g));
        }
        return assemble(jobId, spec, drafts);
    }

    /** One (question, model) before the job-wide q-values (blocking). */
    ModelComparer.Draft compare(ModelComparer.Group group) {
        return comparer.compare(group);
    }

    /** The (question, model)s of the job in spec order, each with its stored rows. */
    static List<ModelComparer.Group> groups(String jobId, JobSpec spec, List<ExecutionResult> rows) {
        Map<String, Map<EndpointId, @Nullable ExecutionResult[]>> byQuestion = new HashMap<>();
        for (ExecutionResult r : rows) {
            int sample = r.cell().sample();
            if (sample >= spec.samples()) {
                continue;
            }
            byQuestion.computeIfAbsent(r.cell().questionId(), q -> new HashMap<>())
                    .computeIfAbsent(r.cell().endpoint(), e -> new ExecutionResult[spec.samples()])[sample] = r;
        }
        List<ModelComparer.Group> groups = new ArrayList<>();
        for (Question q : spec.questions()) {
            Map<EndpointId, @Nullable ExecutionResult[]> stored = byQuestion.getOrDefault(q.id(), Map.of());
            for (ModelSelection m : spec.models()) {
                List<@Nullable ExecutionResult[]> samples = new ArrayList<>();
                for (String region : m.regions()) {
                    samples.add(stored.getOrDefault(new EndpointId(m.id(), region), new ExecutionResult[spec.samples()]));
                }
                groups.add(new ModelComparer.Group(jobId, q.id(), m.id(), m.regions(), samples));
            }
        }
        return groups;
    }

    /** Adds the q-values, the divergence verdicts and the summary. {@code drafts} are in (question, model) order. */
    Comparison assemble(String jobId, JobSpec spec, List<ModelComparer.Draft> drafts) {
        List<Integer> testable = new ArrayList<>();
        for (int i = 0; i < drafts.size(); i++) {
            if (drafts.get(i).effect().testable()) {
                testable.add(i);
            }
        }
        double[] p = new double[testable.size()];
        for (int k = 0; k < p.length; k++) {
            p[k] = drafts.get(testable.get(k)).pValue();
        }
        double[] q = BenjaminiHochberg.qValues(p);
        double[] qByDraft = new double[drafts.size()];
        java.util.Arrays.fill(qByDraft, Double.NaN);
        for (int k = 0; k < q.length; k++) {
            qByDraft[testable.get(k)] = q[k];
        }

        int models = spec.models().size();
        List<Comparison.QuestionComparison> questions = new ArrayList<>();
        int divergentCount = 0;
        Map<EndpointId, int[]> tallies = new HashMap<>();
        for (int qi = 0; qi < spec.questions().size(); qi++) {
            Question question = spec.questions().get(qi);
            List<Comparison.ModelComparison> modelComparisons = new ArrayList<>(models);
            for (int mi = 0; mi < models; mi++) {
                int index = qi * models + mi;
                ModelComparer.Draft d = drafts.get(index);
                Comparison.RegionEffect effect = d.effect();
                boolean divergent;
                if (effect.testable()) {
                    double qValue = qByDraft[index];
                    divergent = qValue < settings.alpha();
                    effect = new Comparison.RegionEffect(true, null, effect.statistic(), effect.pValue(), Rounding.significant(qValue),
                            effect.permutations());
                } else {
                    divergent = d.ruleOfThumb();
                }
                divergentCount += divergent ? 1 : 0;
                for (Comparison.RegionAnswers r : d.regions()) {
                    int[] t = tallies.computeIfAbsent(new EndpointId(d.modelId(), r.region()), e -> new int[2]);
                    t[0] += r.succeeded();
                    t[1] += r.refusals();
                }
                modelComparisons.add(new Comparison.ModelComparison(d.modelId(), d.regions(), d.similarities(), effect,
                        d.servedModelsDiffer(), divergent));
            }
            questions.add(new Comparison.QuestionComparison(question.id(), question.text(), modelComparisons));
        }

        List<Comparison.RegionSummary> perRegion = new ArrayList<>();
        for (ModelSelection m : spec.models()) {
            for (String region : m.regions()) {
                int[] t = tallies.getOrDefault(new EndpointId(m.id(), region), new int[2]);
                perRegion.add(new Comparison.RegionSummary(m.id(), region, t[0], t[1],
                        t[0] == 0 ? null : Rounding.decimals((double) t[1] / t[0]), t[0] == 0 ? null : ModelComparer.interval(t[1], t[0])));
            }
        }
        return new Comparison(jobId, embeddings.measure(), spec.samples(), settings.alpha(), questions,
                new Comparison.Summary(testable.size(), divergentCount, perRegion));
    }
}
