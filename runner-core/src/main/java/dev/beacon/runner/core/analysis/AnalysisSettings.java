package dev.beacon.runner.core.analysis;

/**
 * The comparison's statistical settings ({@code beacon.runner.analysis.*}).
 *
 * @param alpha        false discovery rate at which a (question, model) is called divergent: its
 *                     Benjamini–Hochberg q-value must be below it; strictly between 0 and 1
 * @param permutations relabelings drawn per region-effect test, {@value #MIN_PERMUTATIONS} to
 *                     {@value #MAX_PERMUTATIONS}; with B of them the smallest possible p-value is 1/(B+1)
 */
public record AnalysisSettings(double alpha, int permutations) {

    /** Fewest permutations: below 99 the smallest p-value (0.01) is too coarse for any alpha worth using. */
    public static final int MIN_PERMUTATIONS = 99;

    /** Most permutations: 10^6 keeps one test well under a second for 150 answers. */
    public static final int MAX_PERMUTATIONS = 1_000_000;

    /** alpha 0.05, 9,999 permutations (README, "Configuration"). */
    public static final AnalysisSettings DEFAULT = new AnalysisSettings(0.05, 9_999);

    public AnalysisSettings {
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("alpha must be strictly between 0 and 1, but was " + alpha);
        }
        if (permutations < MIN_PERMUTATIONS || permutations > MAX_PERMUTATIONS) {
            throw new IllegalArgumentException("permutations must be between " + MIN_PERMUTATIONS + " and " + MAX_PERMUTATIONS
                    + ", but was " + permutations);
        }
    }
}
