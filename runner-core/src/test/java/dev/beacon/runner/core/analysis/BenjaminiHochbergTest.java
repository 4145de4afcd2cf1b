package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class BenjaminiHochbergTest {

    /**
     * By hand: sorted p = 0.005, 0.01, 0.03, 0.04 (m = 4) give m·p/rank = 0.02, 0.02, 0.04, 0.04; the running
     * minimum from the largest down leaves them as they are, returned in input order.
     */
    @Test
    void matchesAHandComputedExample() {
        double[] q = BenjaminiHochberg.qValues(new double[]{0.01, 0.04, 0.03, 0.005});

        assertThat(q).containsExactly(new double[]{0.02, 0.04, 0.04, 0.02}, within(1e-12));
    }

    /** By hand: m·p/rank = 0.04 and 0.021; the step-up minimum lowers the first to 0.021. */
    @Test
    void aLargerPValueCanLowerTheQValueOfASmallerOne() {
        double[] q = BenjaminiHochberg.qValues(new double[]{0.02, 0.021});

        assertThat(q).containsExactly(new double[]{0.021, 0.021}, within(1e-12));
    }

    @Test
    void qValuesAreCappedAtOneAndEmptyInputIsEmpty() {
        assertThat(BenjaminiHochberg.qValues(new double[]{0.9, 0.95, 1.0})).containsExactly(new double[]{1.0, 1.0, 1.0}, within(1e-12));
        assertThat(BenjaminiHochberg.qValues(new double[0])).isEmpty();
    }

    @Test
    void rejectsAnythingThatIsNotAProbability() {
        assertThatThrownBy(() -> BenjaminiHochberg.qValues(new double[]{0.1, Double.NaN})).hasMessageContaining("but one was NaN");
    }
}
