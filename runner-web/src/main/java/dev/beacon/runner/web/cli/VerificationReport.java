package dev.beacon.runner.web.cli;

import dev.beacon.runner.core.evidence.Verification;
import dev.beacon.runner.core.evidence.Verification.KeySource;
import dev.beacon.runner.core.evidence.Verification.Problem;
import java.io.PrintWriter;

/**
 * Writes a {@link Verification} as {@code verify} prints it: one {@code FAIL subject: reason} line per
 * problem, then one summary line that starts with {@code OK:} or {@code FAILED:}.
 */
final class VerificationReport {

    private VerificationReport() {
    }

    static void print(Verification verification, PrintWriter out) {
        for (Problem problem : verification.problems()) {
            out.println("FAIL " + problem.subject() + ": " + problem.reason());
        }
        out.println(summary(verification));
    }

    static String summary(Verification v) {
        String keys = "keys: " + (v.keyIds().isEmpty() ? "none verified" : String.join(", ", v.keyIds()))
                + (v.keySource() == KeySource.TRUSTED ? " (trusted)"
                        : " (the bundle's own; --trust-keys KEYS.json checks who signed)");
        if (v.ok()) {
            return "OK: " + v.executions() + " executions, seal verified, " + keys;
        }
        int count = v.problems().size();
        return "FAILED: " + count + (count == 1 ? " problem" : " problems") + " in " + v.executions() + " executions ("
                + v.receiptsVerified() + " of " + v.executions() + " receipt signatures verified, seal "
                + (v.sealVerified() ? "verified" : "not verified") + "), " + keys;
    }
}
