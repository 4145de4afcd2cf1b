package dev.beacon.runner.core.evidence;

import dev.beacon.runner.core.domain.Cell;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of checking one evidence bundle: every problem found, each naming the cell or the part
 * of the bundle it concerns, and what was checked. A bundle verifies when there is no problem.
 *
 * @param executions       how many executions the bundle holds
 * @param cells            how many cells the bundle's spec has ({@code 0} if the spec cannot be read)
 * @param receiptsVerified how many receipt signatures verified with a key of the set used
 * @param sealVerified     whether the seal's signature verified with a key of the set used
 * @param keySource        which key set was used: the bundle's own keys, or only trusted ones
 * @param keyIds           the ids of the keys that verified a receipt or the seal, in order of first use
 * @param problems         every check that failed, in the order found
 */
public record Verification(int executions, int cells, int receiptsVerified, boolean sealVerified, KeySource keySource,
                           List<String> keyIds, List<Problem> problems) {

    /** Where the keys that signatures are checked against came from. */
    public enum KeySource {
        /** The bundle's own {@code keys}: shows the bundle is intact, not who made it. */
        BUNDLE,
        /** Only keys from a saved {@code GET /keys} answer: shows the bundle was made by that runner. */
        TRUSTED
    }

    public Verification {
        if (executions < 0) {
            throw new IllegalArgumentException("executions must be >= 0, but was " + executions);
        }
        if (cells < 0) {
            throw new IllegalArgumentException("cells must be >= 0, but was " + cells);
        }
        if (receiptsVerified < 0 || receiptsVerified > executions) {
            throw new IllegalArgumentException("receiptsVerified must be between 0 and " + executions + ", but was " + receiptsVerified);
        }
        Objects.requireNonNull(keySource, "keySource");
        keyIds = List.copyOf(keyIds);
        problems = List.copyOf(problems);
    }

    /** True when every check passed. */
    public boolean ok() {
        return problems.isEmpty();
    }

    /**
     * One failed check.
     *
     * @param subject the cell ({@code questionId / model@region / sample}) or the part of the bundle
     *                ({@code spec}, {@code seal}, {@code keys}, {@code trusted keys}, {@code job},
     *                {@code executions[i]}) that failed
     * @param reason  what was expected and what was found
     */
    public record Problem(String subject, String reason) {

        public Problem {
            if (subject == null || subject.isBlank()) {
                throw new IllegalArgumentException("subject must not be blank, but was '" + subject + "'");
            }
            if (reason == null || reason.isBlank()) {
                throw new IllegalArgumentException("reason must not be blank, but was '" + reason + "'");
            }
        }

        /** A problem of one cell, named {@code questionId / model@region / sample}. */
        public static Problem of(Cell cell, String reason) {
            return new Problem(label(cell), reason);
        }

        /** How a cell is named in a report: {@code questionId / model@region / sample}. */
        public static String label(Cell cell) {
            return cell.questionId() + " / " + cell.endpoint() + " / " + cell.sample();
        }

        @Override
        public String toString() {
            return subject + ": " + reason;
        }
    }
}
