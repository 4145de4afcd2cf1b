package dev.beacon.runner.core.evidence;

/**
 * Thrown when a document cannot be read as an evidence bundle at all: not JSON, a {@code format}
 * other than {@value BundleVerifier#FORMAT}, or a required part ({@code job}, its {@code id},
 * {@code status}, {@code spec} or {@code specSha256}, {@code executions}, {@code keys},
 * {@code seal}) missing or of the wrong type. A bundle that can be read but does not verify is not
 * an exception: it is a {@link Verification} with problems.
 */
public final class BundleFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public BundleFormatException(String message) {
        super(message);
    }

    public BundleFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
