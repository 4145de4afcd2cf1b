package dev.beacon.runner.core.analysis;

import org.jspecify.annotations.Nullable;

/**
 * Whether an answer declines to answer, and which rule said so.
 *
 * @param reason the rule that fired, e.g. {@code finish reason content_filter},
 *               {@code refusal phrase "i can't discuss"} or
 *               {@code similar to refusal exemplar "Let's talk about something else." (0.78)};
 *               {@code null} exactly when {@code refusal} is false
 */
public record RefusalVerdict(boolean refusal, @Nullable String reason) {

    /** Not a refusal. */
    public static final RefusalVerdict ANSWER = new RefusalVerdict(false, null);

    public RefusalVerdict {
        if (refusal != (reason != null)) {
            throw new IllegalArgumentException("reason must be given exactly for a refusal, but refusal was " + refusal
                    + " and reason " + reason);
        }
    }

    /** A refusal for the given reason. */
    public static RefusalVerdict refusal(String reason) {
        return new RefusalVerdict(true, reason);
    }
}
