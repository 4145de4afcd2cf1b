package dev.beacon.runner.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * The public half of a key that signed receipts or seals: what anyone needs to check them.
 *
 * @param publicKey base64 of the X.509 SubjectPublicKeyInfo encoding
 * @param createdAt when this database first saw the key
 */
public record RunnerKey(String keyId, String algorithm, String publicKey, Instant createdAt) {

    public RunnerKey {
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
