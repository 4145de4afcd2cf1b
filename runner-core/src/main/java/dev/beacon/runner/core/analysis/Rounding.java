package dev.beacon.runner.core.analysis;

import java.math.BigDecimal;
import java.math.MathContext;

/** How the comparison rounds its figures for display: decisions are always made on the unrounded values. */
final class Rounding {

    private Rounding() {
    }

    /** To 4 decimals: similarities, statistics, rates, interval bounds. */
    static double decimals(double value) {
        double rounded = Math.round(value * 10_000) / 10_000.0;
        return rounded == 0 ? 0.0 : rounded; // no -0.0 in the JSON
    }

    /** To 4 significant digits: q-values, which can be far below 0.0001. */
    static double significant(double value) {
        return value == 0 ? 0.0 : new BigDecimal(value).round(new MathContext(4)).doubleValue();
    }
}
