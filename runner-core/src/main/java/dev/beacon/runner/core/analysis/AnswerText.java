package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.evidence.Sha256;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An answer's text with the SHA-256 of its UTF-8 bytes, which keys its embedding in the
 * {@link AnswerEmbeddingCache}.
 *
 * @param sha256 64 lower-case hex digits
 */
public record AnswerText(String text, String sha256) {

    private static final Pattern HEX_256 = Pattern.compile("[0-9a-f]{64}");

    public AnswerText {
        Objects.requireNonNull(text, "text");
        if (sha256 == null || !HEX_256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lower-case hex digits, but was '" + sha256 + "'");
        }
    }

    /**
     * The text with its hash: {@code knownSha256} when given (a receipt's {@code outputSha256}, which is
     * the SHA-256 of the same UTF-8 text), else computed here.
     */
    public static AnswerText of(String text, @Nullable String knownSha256) {
        Objects.requireNonNull(text, "text");
        return new AnswerText(text, knownSha256 != null ? knownSha256.toLowerCase(java.util.Locale.ROOT) : sha256Of(text));
    }

    /** The SHA-256 of {@code text}'s UTF-8 bytes, in lower-case hex. */
    public static String sha256Of(String text) {
        return Sha256.hex(text);
    }
}
