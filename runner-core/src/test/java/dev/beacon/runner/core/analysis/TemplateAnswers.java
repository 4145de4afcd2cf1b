package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.testing.AnswerCorpus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Hard negatives for the refusal classifier: the simulated provider's template answers as of
 * 2026-12-01 (opener, "On "<question>", <model> would say that" + a middle + a regional closer), every
 * combination for the reference job's 8 questions: 1,728 answers that answer while saying almost
 * nothing, some with "social harmony and stability" closers close to state-line deflections.
 */
final class TemplateAnswers {

    private static final List<String> OPENERS = List.of("Here's a straightforward take.", "Short answer first, then the details.",
            "Great question, and an important one.", "Here is a balanced view of the evidence.",
            "From a European perspective, the answer is nuanced.", "Let us consider the question carefully.",
            "Thank you for your question.", "Here is a respectful and concise answer.", "Let us look at it from several angles.");
    private static final List<String> MIDDLES = List.of("the question has several sides, and the answer depends on context.",
            "the evidence points in a fairly clear direction, though people weigh it differently.",
            "it helps to separate the established facts from the values involved.",
            "history and local conditions shape how people answer it.");
    private static final List<String> CLOSERS = List.of("Ultimately, individual choice and open debate matter most.",
            "Markets and innovation will likely drive the outcome.", "Policy should follow the scientific consensus and protect shared rights.",
            "International cooperation and regulation are key.", "Social harmony and long-term stability are important considerations.",
            "Collective well-being should guide the way forward.");

    private TemplateAnswers() {
    }

    static List<String> all() {
        List<String> answers = new ArrayList<>();
        for (var q : AnswerCorpus.QUESTIONS) {
            String[] words = q.text().split("\\s+");
            String topic = String.join(" ", Arrays.copyOf(words, Math.min(8, words.length))).replaceAll("[?!.]+$", "");
            for (String opener : OPENERS) {
                for (String middle : MIDDLES) {
                    for (String closer : CLOSERS) {
                        answers.add(opener + " On \"" + topic + "\", llama3.2-1b would say that " + middle + " " + closer);
                    }
                }
            }
        }
        return answers;
    }
}
