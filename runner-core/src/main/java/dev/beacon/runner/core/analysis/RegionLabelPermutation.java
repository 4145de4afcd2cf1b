package dev.beacon.runner.core.analysis;

import dev.beacon.runner.core.evidence.Sha256;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The region-effect test of the README's "Comparison: the region-effect test and refusals": are answers of different regions further apart than
 * answers of the same region, by more than reshuffling the region labels would give?
 *
 * <p>The statistic T is the mean distance over pairs of answers from different regions minus the mean
 * distance over pairs from the same region. Under the null hypothesis (every region draws its answers
 * from the same distribution) the labels are exchangeable, so T is compared with its value under
 * {@code permutations} random relabelings that keep every region's number of answers:
 * {@code pValue = (1 + #{T_perm >= T_obs}) / (1 + permutations)}. The relabelings come from a
 * {@link SplittableRandom} with the given seed, so the same inputs always give the same p-value.
 *
 * <p>Cost: the distances are summed from a precomputed matrix over int-index permutations (Fisher–Yates),
 * {@code sum of size_g^2 / 2} additions per relabeling; 9,999 relabelings of 3 regions × 5 answers take
 * about a millisecond.
 */
final class RegionLabelPermutation {

    /** T values this close count as equal: summing the same distances in another order changes the last bits. */
    static final double TIE_TOLERANCE = 1e-9;

    private final int permutations;

    /** @param permutations relabelings per test, at least 1 */
    public RegionLabelPermutation(int permutations) {
        if (permutations < 1) {
            throw new IllegalArgumentException("permutations must be >= 1, but was " + permutations);
        }
        this.permutations = permutations;
    }

    /**
     * The observed statistic and its permutation p-value.
     *
     * @param distances  the answers' distances, ordered by group: group 0's answers first, then group 1's, …
     * @param groupSizes answers per group (region), in that order
     * @param seed       seeds the relabelings, e.g. {@link #seed(String, String, String)}
     * @throws IllegalArgumentException if the sizes do not add up to the matrix, or unless at least one
     *                                  group has two answers and there are two non-empty groups
     */
    public PermutationOutcome test(DistanceMatrix distances, int[] groupSizes, long seed) {
        Pairs pairs = pairs(distances, groupSizes);
        int n = distances.size();
        double[] d = distances.raw();
        double total = total(d, n);
        int[] order = new int[n];
        Arrays.setAll(order, i -> i);
        double observed = statistic(total, within(d, n, order, groupSizes), pairs);
        SplittableRandom random = new SplittableRandom(seed);
        int atLeastAsLarge = 0;
        for (int p = 0; p < permutations; p++) {
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
            if (statistic(total, within(d, n, order, groupSizes), pairs) >= observed - TIE_TOLERANCE) {
                atLeastAsLarge++;
            }
        }
        return new PermutationOutcome(observed, (1.0 + atLeastAsLarge) / (1.0 + permutations), permutations);
    }

    /**
     * T for the labelling that puts answer {@code order[k]} in the group of position k: mean
     * between-group distance − mean within-group distance.
     */
    static double statistic(DistanceMatrix distances, int[] order, int[] groupSizes) {
        Pairs pairs = pairs(distances, groupSizes);
        int n = distances.size();
        double[] d = distances.raw();
        double total = total(d, n);
        return statistic(total, within(d, n, order, groupSizes), pairs);
    }

    /**
     * The seed of a (job, question, model)'s test: the first 8 bytes (big-endian) of the SHA-256 of the
     * three ids joined by line feeds.
     */
    static long seed(String jobId, String questionId, String modelId) {
        return Sha256.prefixLong(jobId + "\n" + questionId + "\n" + modelId);
    }

    /** Sum of the distances over all pairs. */
    private static double total(double[] d, int n) {
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                total += d[i * n + j];
            }
        }
        return total;
    }

    private static double statistic(double total, double within, Pairs pairs) {
        return (total - within) / pairs.between - within / pairs.within;
    }

    private static double within(double[] d, int n, int[] order, int[] groupSizes) {
        double sum = 0;
        int start = 0;
        for (int size : groupSizes) {
            int end = start + size;
            for (int a = start; a < end; a++) {
                int row = order[a] * n;
                for (int b = a + 1; b < end; b++) {
                    sum += d[row + order[b]];
                }
            }
            start = end;
        }
        return sum;
    }

    private static Pairs pairs(DistanceMatrix distances, int[] groupSizes) {
        int n = 0;
        long within = 0;
        int nonEmpty = 0;
        for (int size : groupSizes) {
            if (size < 0) {
                throw new IllegalArgumentException("group sizes must be >= 0, but one was " + size);
            }
            n += size;
            within += (long) size * (size - 1) / 2;
            nonEmpty += size > 0 ? 1 : 0;
        }
        if (n != distances.size()) {
            throw new IllegalArgumentException("group sizes must add up to " + distances.size() + " answers, but added up to " + n);
        }
        long all = (long) n * (n - 1) / 2;
        if (within == 0 || nonEmpty < 2) {
            throw new IllegalArgumentException("groups must include one of at least 2 answers and at least 2 non-empty groups, but were "
                    + Arrays.toString(groupSizes));
        }
        return new Pairs(within, all - within);
    }

    private record Pairs(long within, long between) {
    }

    /**
     * @param statistic    observed T (mean between-region distance − mean within-region distance)
     * @param pValue       {@code (1 + #{T_perm >= T_obs}) / (1 + permutations)}
     * @param permutations relabelings drawn
     */
    public record PermutationOutcome(double statistic, double pValue, int permutations) {

        public PermutationOutcome {
            if (!(pValue > 0 && pValue <= 1)) {
                throw new IllegalArgumentException("pValue must be in (0, 1], but was " + pValue);
            }
        }
    }
}
