package dev.beacon.runner.core.evidence;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A set of Ed25519 public keys that receipts and seals are checked against, read from a
 * {@code GET /keys} answer ({@code {"keys": [{keyId, algorithm, publicKey, createdAt}]}}) or from a
 * bundle's {@code keys} array.
 *
 * <p>A key id is not a name its holder picks: it must be the first 16 hex digits of the SHA-256 of
 * the key's X.509 encoding, as the runner derives it. An entry whose id is not its key's, whose
 * algorithm is not {@code Ed25519} or whose key does not decode is left out of the set and listed in
 * {@link #rejected()}, so a bundle cannot bring its own key under a trusted key's id. Signatures are
 * checked with the JDK's own Ed25519 ({@code Signature.getInstance("Ed25519")}, RFC 8032), no other
 * library. Instances are immutable.
 */
public final class TrustedKeys {

    /** The only algorithm receipts and seals are signed with. */
    public static final String ALGORITHM = "Ed25519";

    private final Map<String, Key> byId;
    private final List<String> rejected;

    private TrustedKeys(Map<String, Key> byId, List<String> rejected) {
        this.byId = Collections.unmodifiableMap(new LinkedHashMap<>(byId));
        this.rejected = List.copyOf(rejected);
    }

    /**
     * Reads a saved {@code GET /keys} answer.
     *
     * @throws IllegalArgumentException if it is not an object with a {@code keys} array of objects
     *                                  that each have string {@code keyId} and {@code publicKey}
     */
    public static TrustedKeys fromKeysAnswer(JsonNode answer) {
        if (answer == null || !answer.isObject()) {
            throw new IllegalArgumentException("a GET /keys answer must be a JSON object, but was " + kind(answer));
        }
        return fromKeyList(answer.path("keys"));
    }

    /**
     * Reads a list of key entries: a bundle's {@code keys}, or the {@code keys} of a {@code GET /keys} answer.
     *
     * @throws IllegalArgumentException if it is not an array of objects that each have string
     *                                  {@code keyId} and {@code publicKey}
     */
    public static TrustedKeys fromKeyList(JsonNode keys) {
        if (keys == null || !keys.isArray()) {
            throw new IllegalArgumentException("keys must be a JSON array, but was " + kind(keys));
        }
        Map<String, Key> byId = new LinkedHashMap<>();
        List<String> rejected = new ArrayList<>();
        int index = 0;
        for (JsonNode entry : keys) {
            String where = "keys[" + index++ + "]";
            if (!entry.isObject() || !entry.path("keyId").isString() || !entry.path("publicKey").isString()) {
                throw new IllegalArgumentException(where + " must be an object with string keyId and publicKey, but was " + entry);
            }
            String keyId = entry.path("keyId").stringValue();
            JsonNode algorithm = entry.path("algorithm");
            if (!algorithm.isString() || !ALGORITHM.equals(algorithm.stringValue())) {
                rejected.add("key " + keyId + ": algorithm must be " + ALGORITHM + ", but was " + algorithm);
                continue;
            }
            try {
                Key key = new Key(keyId, decode(entry.path("publicKey").stringValue()));
                byId.putIfAbsent(keyId, key);
            } catch (IllegalArgumentException e) {
                rejected.add("key " + keyId + ": " + e.getMessage());
            }
        }
        return new TrustedKeys(byId, rejected);
    }

    /** The id the runner gives a public key: the first 16 hex digits of the SHA-256 of its X.509 encoding. */
    public static String keyIdOf(PublicKey key) {
        return Sha256.hex(key.getEncoded()).substring(0, 16);
    }

    /** Decodes a base64 X.509 SubjectPublicKeyInfo into an Ed25519 public key. */
    public static PublicKey decode(String base64X509) {
        byte[] encoded;
        try {
            encoded = Base64.getDecoder().decode(base64X509);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("publicKey must be base64, but was '" + base64X509 + "'");
        }
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(encoded));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("publicKey must be an X.509 Ed25519 public key, but was not: " + e.getMessage());
        }
    }

    /** The key with this id, if the set has it. */
    public Optional<Key> find(String keyId) {
        return Optional.ofNullable(byId.get(keyId));
    }

    /** Every key of the set, in the order read. */
    public List<Key> keys() {
        return List.copyOf(byId.values());
    }

    /** Why each entry that was left out of the set was left out, in the order read. */
    public List<String> rejected() {
        return rejected;
    }

    /**
     * One public key and its id.
     *
     * @param keyId     the first 16 hex digits of the SHA-256 of the key's X.509 encoding
     * @param publicKey an Ed25519 public key
     */
    public record Key(String keyId, PublicKey publicKey) {

        public Key {
            Objects.requireNonNull(publicKey, "publicKey");
            if (!(publicKey instanceof EdECPublicKey ed && ALGORITHM.equalsIgnoreCase(ed.getParams().getName()))) {
                throw new IllegalArgumentException("publicKey must be an Ed25519 key, but was " + publicKey.getAlgorithm());
            }
            String expected = keyIdOf(publicKey);
            if (!expected.equals(keyId)) {
                throw new IllegalArgumentException("keyId must be the first 16 hex digits of the SHA-256 of its key ("
                        + expected + "), but was '" + keyId + "'");
            }
        }

        /** Whether {@code signature} is this key's Ed25519 signature of exactly {@code payload}. */
        public boolean verifies(byte[] payload, byte[] signature) {
            try {
                Signature verifier = Signature.getInstance(ALGORITHM);
                verifier.initVerify(publicKey);
                verifier.update(payload);
                return verifier.verify(signature);
            } catch (GeneralSecurityException e) {
                return false;
            }
        }

        /** The key as base64 X.509 SubjectPublicKeyInfo, as {@code GET /keys} writes it. */
        public String publicKeyBase64() {
            return Base64.getEncoder().encodeToString(publicKey.getEncoded());
        }
    }

    private static String kind(JsonNode node) {
        return node == null || node.isMissingNode() ? "missing" : node.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
