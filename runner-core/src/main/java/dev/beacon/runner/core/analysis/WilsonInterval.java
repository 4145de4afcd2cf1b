package dev.beacon.runner.core.analysis;

/**
 * The Wilson score interval of a proportion at 95 % confidence: unlike the normal approximation it
 * stays inside [0, 1] and is not empty at 0 or n successes (0 of 5 gives [0, 0.434]).
 */
record WilsonInterval(double lower, double upper) {

    /** The two-sided 95 % normal quantile. */
    static final double Z95 = 1.959963984540054;

    public WilsonInterval {
        if (!(lower >= 0 && lower <= upper && upper <= 1)) {
            throw new IllegalArgumentException("interval must satisfy 0 <= lower <= upper <= 1, but was [" + lower + ", " + upper + "]");
        }
    }

    /**
     * The 95 % interval for {@code successes} out of {@code trials}.
     *
     * @throws IllegalArgumentException unless 0 <= successes <= trials and trials >= 1
     */
    static WilsonInterval of(int successes, int trials) {
        if (trials < 1 || successes < 0 || successes > trials) {
            throw new IllegalArgumentException("successes and trials must satisfy 0 <= successes <= trials, trials >= 1, but were "
                    + successes + " and " + trials);
        }
        double n = trials;
        double p = successes / n;
        double z2 = Z95 * Z95;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / denominator;
        double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
        double lower = successes == 0 ? 0.0 : Math.max(0.0, centre - half);
        double upper = successes == trials ? 1.0 : Math.min(1.0, centre + half);
        return new WilsonInterval(lower, upper);
    }
}
