package dev.beacon.runner.core.analysis;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The distinct words of an answer, case-folded; compared by Jaccard similarity (shared distinct words ÷
 * all distinct words). A word is a run of letters, digits and apostrophes.
 *
 * @param words the distinct lower-case words
 */
public record TokenSet(Set<String> words) implements AnswerEmbedding {

    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}']+");

    public TokenSet {
        words = Set.copyOf(words);
    }

    /** The distinct case-folded words of {@code text}. */
    public static TokenSet of(String text) {
        Set<String> result = new HashSet<>();
        Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        while (m.find()) {
            result.add(m.group());
        }
        return new TokenSet(result);
    }

    /** Token Jaccard similarity; 1.0 for two texts without words. */
    @Override
    public double similarity(AnswerEmbedding other) {
        if (!(other instanceof TokenSet that)) {
            throw new IllegalArgumentException("other must be a TokenSet, but was " + other.getClass().getSimpleName());
        }
        if (words.isEmpty() && that.words.isEmpty()) {
            return 1.0;
        }
        Set<String> smaller = words.size() <= that.words.size() ? words : that.words;
        Set<String> larger = smaller == words ? that.words : words;
        int shared = 0;
        for (String w : smaller) {
            if (larger.contains(w)) {
                shared++;
            }
        }
        return (double) shared / (words.size() + that.words.size() - shared);
    }
}
