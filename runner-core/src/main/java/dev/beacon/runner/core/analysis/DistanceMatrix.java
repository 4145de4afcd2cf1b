package dev.beacon.runner.core.analysis;

import java.util.List;

/**
 * The pairwise distances (1 − similarity) of a list of answers, computed once so that a permutation
 * test can re-sum them thousands of times without touching the embeddings.
 */
final class DistanceMatrix {

    private final int size;
    private final double[] distances;

    private DistanceMatrix(int size, double[] distances) {
        this.size = size;
        this.distances = distances;
    }

    /** The distances between every two of {@code embeddings}: {@code 1 - similarity}. */
    static DistanceMatrix of(List<AnswerEmbedding> embeddings) {
        int n = embeddings.size();
        double[] d = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double distance = 1.0 - embeddings.get(i).similarity(embeddings.get(j));
                d[i * n + j] = distance;
                d[j * n + i] = distance;
            }
        }
        return new DistanceMatrix(n, d);
    }

    /**
     * A matrix from explicit distances (row-major, {@code size × size}), for synthetic data.
     *
     * @throws IllegalArgumentException unless the matrix is square, symmetric, finite, with a zero diagonal
     */
    static DistanceMatrix ofDistances(double[][] rows) {
        int n = rows.length;
        double[] d = new double[n * n];
        for (int i = 0; i < n; i++) {
            if (rows[i].length != n) {
                throw new IllegalArgumentException("row " + i + " must have " + n + " entries, but had " + rows[i].length);
            }
            for (int j = 0; j < n; j++) {
                double v = rows[i][j];
                if (!Double.isFinite(v) || (i == j && v != 0) || v != rows[j][i]) {
                    throw new IllegalArgumentException("distances must be finite, symmetric and zero on the diagonal, but ["
                            + i + "][" + j + "] was " + v);
                }
                d[i * n + j] = v;
            }
        }
        return new DistanceMatrix(n, d);
    }

    /** Number of answers. */
    public int size() {
        return size;
    }

    /** Distance between answers {@code i} and {@code j}. */
    public double distance(int i, int j) {
        return distances[i * size + j];
    }

    /** Row-major backing array, for the permutation loop of this package; not copied. */
    double[] raw() {
        return distances;
    }
}
