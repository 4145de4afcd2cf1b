package dev.beacon.runner.core.spec;

/** Server-side bounds on what one submission may ask for. */
public record SubmissionLimits(int maxQuestions, int maxQuestionChars, long maxBodyBytes) {

    public static final SubmissionLimits DEFAULT = new SubmissionLimits(1000, 8000, 1_048_576);

    public SubmissionLimits {
        if (maxQuestions < 1) {
            throw new IllegalArgumentException("maxQuestions must be >= 1, but was " + maxQuestions);
        }
        if (maxQuestionChars < 1) {
            throw new IllegalArgumentException("maxQuestionChars must be >= 1, but was " + maxQuestionChars);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("maxBodyBytes must be >= 1024, but was " + maxBodyBytes);
        }
    }
}
