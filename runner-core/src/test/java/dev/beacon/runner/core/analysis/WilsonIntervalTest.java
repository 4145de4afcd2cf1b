package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WilsonIntervalTest {

    /** Reference values: the Wilson score formula with z = 1.959964, computed independently (Python). */
    @ParameterizedTest(name = "{0}/{1} -> [{2}, {3}]")
    @CsvSource({
            "0, 5, 0.0, 0.434482",
            "8, 40, 0.105000, 0.347573",
            "5, 5, 0.565518, 1.0",
            "1, 10, 0.017876, 0.404150",
            "0, 1, 0.0, 0.793451",
            "50, 100, 0.403832, 0.596168"})
    void matchesKnownValues(int successes, int trials, double lower, double upper) {
        WilsonInterval ci = WilsonInterval.of(successes, trials);

        assertThat(ci.lower()).isCloseTo(lower, within(1e-6));
        assertThat(ci.upper()).isCloseTo(upper, within(1e-6));
    }

    @Test
    void noRefusalsInFiveGivesTheContractsExample() {
        WilsonInterval ci = WilsonInterval.of(0, 5);

        assertThat(ci.lower()).isZero();
        assertThat(Math.round(ci.upper() * 1000) / 1000.0).isEqualTo(0.434);
    }

    @Test
    void rejectsImpossibleCounts() {
        assertThatThrownBy(() -> WilsonInterval.of(3, 2)).hasMessageContaining("but were 3 and 2");
        assertThatThrownBy(() -> WilsonInterval.of(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
