package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Lays a job's answers side by side for each question and model, scores how alike each pair of
 * regions answered (token Jaccard: shared distinct words ÷ all distinct words, case-folded), and
 * flags refusals (finish reason {@code content_filter}, or one of a documented list of refusal
 * phrases). A pure function of the spec and the stored rows.
 */
public final class ComparisonBuilder {

    /** Pairs scoring below this are called divergent. */
    public static final double DIVERGENCE_THRESHOLD = 0.5;

    /** Phrases that mark an answer as a refusal, matched case-insensitively. */
    public static final List<String> REFUSAL_PHRASES = List.of(
            "i'm sorry, but i can't", "i am sorry, but i cannot", "i can't discuss", "i cannot discuss",
            "i can't help with", "i cannot help with", "i can't provide", "i cannot provide", "i'm unable to",
            "i am unable to", "i won't be able to", "let's talk about something else", "i must decline",
            "i'm not able to discuss", "this topic is sensitive");

    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}']+");

    private ComparisonBuilder() {
    }

    public static Comparison build(String jobId, JobSpec spec, List<ExecutionResult> rows) {
        Map<String, Map<EndpointId, ExecutionResult>> byQuestion = new HashMap<>();
        for (ExecutionResult r : rows) {
            byQuestion.computeIfAbsent(r.cell().questionId(), q -> new HashMap<>()).put(r.cell().endpoint(), r);
        }
        List<Comparison.QuestionComparison> questions = new ArrayList<>();
        for (Question q : spec.questions()) {
            Map<EndpointId, ExecutionResult> answers = byQuestion.getOrDefault(q.id(), Map.of());
            List<Comparison.ModelComparison> models = new ArrayList<>();
            for (ModelSelection m : spec.models()) {
                models.add(compareModel(m, answers));
            }
            questions.add(new Comparison.QuestionComparison(q.id(), q.text(), models));
        }
        return new Comparison(jobId, "token-jaccard", questions);
    }

    private static Comparison.ModelComparison compareModel(ModelSelection model, Map<EndpointId, ExecutionResult> answers) {
        List<Comparison.RegionAnswer> regions = new ArrayList<>();
        for (String region : model.regions()) {
            regions.add(answerOf(region, answers.get(new EndpointId(model.id(), region))));
        }
        List<Comparison.Similarity> similarities = new ArrayList<>();
        boolean divergent = false;
        for (int i = 0; i < regions.size(); i++) {
            for (int j = i + 1; j < regions.size(); j++) {
                Comparison.RegionAnswer a = regions.get(i);
                Comparison.RegionAnswer b = regions.get(j);
                if (a.text() == null || b.text() == null) {
                    continue;
                }
                double score = jaccard(a.text(), b.text());
                similarities.add(new Comparison.Similarity(a.region(), b.region(), Math.round(score * 1000) / 1000.0));
                divergent |= score < DIVERGENCE_THRESHOLD || a.refusal() != b.refusal();
            }
        }
        return new Comparison.ModelComparison(model.id(), regions, similarities, divergent);
    }

    private static Comparison.RegionAnswer answerOf(String region, ExecutionResult r) {
        if (r == null) {
            return new Comparison.RegionAnswer(region, null, null, null, null, false, null, null);
        }
        if (r.status() != ExecutionStatus.SUCCEEDED) {
            return new Comparison.RegionAnswer(region, r.status(), null, null, r.latencyMs(), false, null, r.error().code());
        }
        String text = r.output().text();
        String finish = r.output().finishReason();
        String reason = refusalReason(text, finish);
        return new Comparison.RegionAnswer(region, r.status(), text, finish, r.latencyMs(), reason != null, reason, null);
    }

    /** Why an answer counts as a refusal, or {@code null} if it does not. */
    static String refusalReason(String text, String finishReason) {
        if ("content_filter".equalsIgnoreCase(finishReason)) {
            return "finish reason content_filter";
        }
        String lower = text.toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        for (String phrase : REFUSAL_PHRASES) {
            if (lower.contains(phrase)) {
                return "refusal phrase \"" + phrase + "\"";
            }
        }
        return null;
    }

    /** Token Jaccard similarity of two texts; 1.0 for two texts without words. */
    static double jaccard(String a, String b) {
        Set<String> x = words(a);
        Set<String> y = words(b);
        if (x.isEmpty() && y.isEmpty()) {
            return 1.0;
        }
        Set<String> union = new HashSet<>(x);
        union.addAll(y);
        x.retainAll(y);
        return (double) x.size() / union.size();
    }

    private static Set<String> words(String text) {
        Set<String> result = new HashSet<>();
        var m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        while (m.find()) {
            result.add(m.group());
        }
        return result;
    }
}
