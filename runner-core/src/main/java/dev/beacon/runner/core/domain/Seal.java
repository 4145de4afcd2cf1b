package dev.beacon.runner.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * A terminal job's answers bound together (README, "Seals and bundles"): the RFC 6962 Merkle root over its receipts'
 * signed payloads in API order, signed with the runner's key. Made once, when the job becomes terminal.
 *
 * @param merkleRoot lower-case hex of the root
 * @param leaves     how many executions the root covers
 * @param signature  base64 Ed25519 signature over the seal payload ({@code evidence.SealPayload})
 */
public record Seal(String merkleRoot, int leaves, String runnerKeyId, String signature, Instant sealedAt) {

    public Seal {
        Objects.requireNonNull(merkleRoot, "merkleRoot");
        Objects.requireNonNull(runnerKeyId, "runnerKeyId");
        Objects.requireNonNull(signature, "signature");
        Objects.requireNonNull(sealedAt, "sealedAt");
        if (leaves < 0) {
            throw new IllegalArgumentException("leaves must be >= 0, but was " + leaves);
        }
    }
}
