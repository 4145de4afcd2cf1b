package dev.beacon.runner.core.analysis;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Benjamini–Hochberg adjusted p-values (q-values): calling every test with q below alpha divergent
 * keeps the expected share of false discoveries among them at most alpha (for independent or
 * positively dependent tests).
 */
final class BenjaminiHochberg {

    private BenjaminiHochberg() {
    }

    /**
     * The q-value of each p-value, in the same order: for the i-th smallest of m p-values,
     * {@code min over k >= i of (m * p_(k) / k)}, at most 1.
     *
     * @throws IllegalArgumentException if a p-value is not in [0, 1]
     */
    static double[] qValues(double[] pValues) {
        int m = pValues.length;
        for (double p : pValues) {
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("p-values must be in [0, 1], but one was " + p);
            }
        }
        Integer[] order = new Integer[m];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingDouble(i -> pValues[i]));
        double[] q = new double[m];
        double running = 1.0;
        for (int rank = m; rank >= 1; rank--) {
            int i = order[rank - 1];
            running = Math.min(running, pValues[i] * m / rank);
            q[i] = running;
        }
        return q;
    }
}
