package dev.beacon.runner.core.domain;

import java.util.Objects;

/**
 * Provenance of a stored execution: hashes of what was sent and what came back, signed by the
 * runner's key so that a result can later be shown to come from this runner unaltered.
 *
 * @param version which payload the signature covers (see {@code evidence.ReceiptPayload}): 2 binds
 *                the sample; 1 for rows signed before samples existed
 */
public record Receipt(String requestSha256, String outputSha256, String runnerKeyId, String signature, int version) {

    /** The payload version every new receipt is signed with. */
    public static final int CURRENT_VERSION = 2;

    public Receipt {
        Objects.requireNonNull(requestSha256, "requestSha256");
        Objects.requireNonNull(outputSha256, "outputSha256");
        Objects.requireNonNull(runnerKeyId, "runnerKeyId");
        Objects.requireNonNull(signature, "signature");
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("receipt version must be 1 or 2, but was " + version);
        }
    }

    /** A receipt of the current version. */
    public Receipt(String requestSha256, String outputSha256, String runnerKeyId, String signature) {
        this(requestSha256, outputSha256, runnerKeyId, signature, CURRENT_VERSION);
    }
}
