package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The region-effect permutation test on synthetic answers whose truth is known: points in 8 dimensions
 * with Euclidean distances, a region's answers drawn around its pool's centre.
 */
class RegionLabelPermutationTest {

    private static final int DIMENSIONS = 8;

    @Test
    void sameInputsGiveTheSamePValue() {
        DistanceMatrix d = answers(new SplittableRandom(1), new int[]{5, 5, 5}, 0.5);
        RegionLabelPermutation test = new RegionLabelPermutation(9_999);
        long seed = RegionLabelPermutation.seed("job", "climate", "llama3.2-1b");

        var first = test.test(d, new int[]{5, 5, 5}, seed);
        var second = test.test(d, new int[]{5, 5, 5}, seed);

        assertThat(second).isEqualTo(first);
        assertThat(test.test(d, new int[]{5, 5, 5}, seed + 1).pValue()).isNotEqualTo(first.pValue());
    }

    /**
     * With 9,999 random relabelings the p-value estimates (1 + B·p_exact)/(1 + B), where p_exact is the share of
     * all relabelings (20 for 2 × 3, 90 for 3 × 2) whose T is at least the observed one; it must lie within
     * 4.5 binomial standard errors of that (a chance of about 7 in a million per comparison).
     */
    @Test
    void pValueMatchesExactEnumerationOfAllRelabelings() {
        SplittableRandom random = new SplittableRandom(7);
        int permutations = 9_999;
        RegionLabelPermutation test = new RegionLabelPermutation(permutations);
        for (int[] sizes : List.of(new int[]{3, 3}, new int[]{2, 2, 2}, new int[]{2, 3})) {
            for (int round = 0; round < 10; round++) {
                DistanceMatrix d = answers(random, sizes, round % 2 == 0 ? 0.0 : 0.8);
                double exact = exactPValue(d, sizes);
                double expected = (1 + permutations * exact) / (1 + permutations);
                double standardError = Math.sqrt(exact * (1 - exact) / permutations) * permutations / (1 + permutations);

                double p = test.test(d, sizes, random.nextLong()).pValue();

                assertThat(p).as("sizes %s, round %d, exact %.4f", Arrays.toString(sizes), round, exact)
                        .isCloseTo(expected, within(4.5 * standardError + 1e-12));
            }
        }
    }

    /**
     * 1,000 jobs whose three regions draw 5 answers each from the same pool, 999 relabelings each. A valid
     * test rejects at alpha 0.05 with probability 49/1000 (p = rank/1000, rank uniform): 49 expected,
     * binomial standard deviation 6.8; the bounds 27..71 are ±3.3 standard deviations (a 1-in-1,000 chance
     * of failing a correct test). The p-values' deciles must also pass a chi-square test of uniformity at
     * the 0.1 % level (9 degrees of freedom: below 27.88).
     */
    @Test
    void regionsFromTheSamePoolGiveUniformPValues() {
        SplittableRandom random = new SplittableRandom(42);
        RegionLabelPermutation test = new RegionLabelPermutation(999);
        int runs = 1_000;
        int rejected = 0;
        int[] deciles = new int[10];
        for (int run = 0; run < runs; run++) {
            int[] sizes = {5, 5, 5};
            double p = test.test(answers(random, sizes, 0.0), sizes, random.nextLong()).pValue();
            rejected += p < 0.05 ? 1 : 0;
            deciles[Math.min(9, (int) ((p - 0.0005) * 10))]++;
        }
        double chiSquare = 0;
        for (int count : deciles) {
            chiSquare += Math.pow(count - runs / 10.0, 2) / (runs / 10.0);
        }
        System.out.printf("same pool: %d of %d rejected at 0.05; deciles %s, chi-square %.1f%n", rejected, runs,
                Arrays.toString(deciles), chiSquare);

        assertThat(rejected).isBetween(27, 71);
        assertThat(chiSquare).isLessThan(27.88);
    }

    /** Pool centres five noise standard deviations apart: with 3 regions × 5 the p-value is near its floor 1/10,000, every time. */
    @Test
    void clearlyDifferentPoolsGiveSmallPValuesWithFiveSamplesPerRegion() {
        SplittableRandom random = new SplittableRandom(3);
        RegionLabelPermutation test = new RegionLabelPermutation(9_999);
        for (int run = 0; run < 20; run++) {
            int[] sizes = {5, 5, 5};
            var outcome = test.test(answers(random, sizes, 5.0), sizes, random.nextLong());

            assertThat(outcome.pValue()).isLessThan(0.01);
            assertThat(outcome.statistic()).isPositive();
        }
    }

    /**
     * Two regions × 5: only 2 of the 252 relabelings separate the groups perfectly (the observed one and
     * its mirror), so even perfectly separated answers cannot go below p ≈ 2/252 = 0.0079.
     */
    @Test
    void twoRegionsOfFiveCannotGoBelowTwoIn252() {
        int[] sizes = {5, 5};
        DistanceMatrix d = answers(new SplittableRandom(11), sizes, 10.0);

        double p = new RegionLabelPermutation(9_999).test(d, sizes, 5).pValue();

        assertThat(exactPValue(d, sizes)).isCloseTo(2.0 / 252, within(1e-12));
        assertThat(p).isCloseTo(2.0 / 252, within(0.0035)); // 4 binomial standard errors at 9,999 draws
    }

    /** Two regions × 2: 2 of the 6 relabelings are as extreme as any, so the smallest p is about 1/3. */
    @Test
    void twoRegionsOfTwoCannotGoBelowAThird() {
        int[] sizes = {2, 2};
        DistanceMatrix d = answers(new SplittableRandom(12), sizes, 10.0);

        double p = new RegionLabelPermutation(9_999).test(d, sizes, 5).pValue();

        assertThat(exactPValue(d, sizes)).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(p).isCloseTo(1.0 / 3, within(0.02));
    }

    @Test
    void identicalAnswersEverywhereGiveAPValueOfOne() {
        DistanceMatrix zero = DistanceMatrix.ofDistances(new double[4][4]);

        var outcome = new RegionLabelPermutation(999).test(zero, new int[]{2, 2}, 1);

        assertThat(outcome.statistic()).isZero();
        assertThat(outcome.pValue()).isEqualTo(1.0);
    }

    @Test
    void seedIsTheFirstEightBytesOfTheIdsHash() {
        long seed = RegionLabelPermutation.seed("0f5e", "tiananmen", "llama3.2-1b");
        String hex = AnswerText.sha256Of("0f5e\ntiananmen\nllama3.2-1b");

        assertThat(seed).isEqualTo(Long.parseUnsignedLong(hex.substring(0, 16), 16));
        assertThat(RegionLabelPermutation.seed("0f5e", "tiananmen", "mistral-7b")).isNotEqualTo(seed);
    }

    @Test
    void rejectsGroupsThatCannotBeTested() {
        DistanceMatrix d = DistanceMatrix.ofDistances(new double[3][3]);
        RegionLabelPermutation test = new RegionLabelPermutation(99);

        assertThatThrownBy(() -> test.test(d, new int[]{1, 1, 1}, 0)).hasMessageContaining("but were [1, 1, 1]");
        assertThatThrownBy(() -> test.test(d, new int[]{3}, 0)).hasMessageContaining("but were [3]");
        assertThatThrownBy(() -> test.test(d, new int[]{2, 2}, 0)).hasMessageContaining("add up to 3 answers, but added up to 4");
    }

    /** Answers of each group drawn around its own centre; centres {@code separation} apart (0: one pool). */
    static DistanceMatrix answers(SplittableRandom random, int[] sizes, double separation) {
        List<double[]> points = new ArrayList<>();
        for (int g = 0; g < sizes.length; g++) {
            for (int k = 0; k < sizes[g]; k++) {
                double[] p = new double[DIMENSIONS];
                for (int i = 0; i < DIMENSIONS; i++) {
                    p[i] = gaussian(random) + (i == g % DIMENSIONS ? separation : 0);
                }
                points.add(p);
            }
        }
        int n = points.size();
        double[][] d = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double s = 0;
                for (int k = 0; k < DIMENSIONS; k++) {
                    s += Math.pow(points.get(i)[k] - points.get(j)[k], 2);
                }
                d[i][j] = Math.sqrt(s);
                d[j][i] = d[i][j];
            }
        }
        return DistanceMatrix.ofDistances(d);
    }

    /** Share of all distinct relabelings (group sizes kept) whose statistic is at least the observed one. */
    static double exactPValue(DistanceMatrix d, int[] sizes) {
        int n = d.size();
        int[] labels = new int[n];
        int k = 0;
        for (int g = 0; g < sizes.length; g++) {
            for (int i = 0; i < sizes[g]; i++) {
                labels[k++] = g;
            }
        }
        double observed = RegionLabelPermutation.statistic(d, orderOf(labels, sizes), sizes);
        int[] counts = {0, 0};
        enumerate(labels.clone(), 0, d, sizes, observed, counts);
        return (double) counts[0] / counts[1];
    }

    private static void enumerate(int[] labels, int from, DistanceMatrix d, int[] sizes, double observed, int[] counts) {
        // Distinct permutations of a multiset, in lexicographic order.
        Arrays.sort(labels);
        do {
            double t = RegionLabelPermutation.statistic(d, orderOf(labels, sizes), sizes);
            counts[0] += t >= observed - RegionLabelPermutation.TIE_TOLERANCE ? 1 : 0;
            counts[1]++;
        } while (nextPermutation(labels));
    }

    private static boolean nextPermutation(int[] a) {
        int i = a.length - 2;
        while (i >= 0 && a[i] >= a[i + 1]) {
            i--;
        }
        if (i < 0) {
            return false;
        }
        int j = a.length - 1;
        while (a[j] <= a[i]) {
            j--;
        }
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
        for (int l = i + 1, r = a.length - 1; l < r; l++, r--) {
            t = a[l];
            a[l] = a[r];
            a[r] = t;
        }
        return true;
    }

    /** Positions ordered by group: the answers labelled 0 first, then 1, …. */
    private static int[] orderOf(int[] labels, int[] sizes) {
        int[] order = new int[labels.length];
        int[] next = new int[sizes.length];
        for (int g = 1; g < sizes.length; g++) {
            next[g] = next[g - 1] + sizes[g - 1];
        }
        for (int i = 0; i < labels.length; i++) {
            order[next[labels[i]]++] = i;
        }
        return order;
    }

    private static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
