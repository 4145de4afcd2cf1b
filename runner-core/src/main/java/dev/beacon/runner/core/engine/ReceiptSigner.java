package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.evidence.ReceiptPayload;
import dev.beacon.runner.core.evidence.Sha256;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.jspecify.annotations.Nullable;

/**
 * Signs execution receipts with the runner's Ed25519 key. The signed text binds the job, the cell,
 * the provider and the hashes of request and output, so a stored answer can later be shown to be
 * the one this runner received for that exact question and endpoint.
 */
public final class ReceiptSigner {

    private final Ed25519PrivateKeyParameters signingKey;
    private final PublicKey publicKey;
    private final String keyId;

    public ReceiptSigner(KeyPair keyPair) {
        PrivateKey privateKey = Objects.requireNonNull(keyPair.getPrivate(), "private key");
        this.publicKey = Objects.requireNonNull(keyPair.getPublic(), "public key");
        this.keyId = Sha256.hex(publicKey.getEncoded()).substring(0, 16);
        try {
            // Signing goes through Bouncy Castle's Ed25519 (same signatures, a fraction of the JDK 17
            // cost); the key is the standard PKCS#8 one, and verification stays with the JDK.
            this.signingKey = (Ed25519PrivateKeyParameters) PrivateKeyFactory.createKey(privateKey.getEncoded());
        } catch (IOException | ClassCastException e) {
            throw new IllegalArgumentException("receipt private key must be an Ed25519 key: " + e.getMessage());
        }
    }

    /** A signer with a fresh key; receipts it signs can only be checked while it lives. */
    public static ReceiptSigner ephemeral() {
        try {
            return new ReceiptSigner(KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Ed25519 is not available in this JDK", e);
        }
    }

    /**
     * A signer from base64 keys: PKCS#8 private key and X.509 public key, as written by
     * {@code openssl genpkey -algorithm ed25519}.
     */
    public static ReceiptSigner fromBase64(String privateKeyPkcs8, String publicKeyX509) {
        try {
            KeyFactory factory = KeyFactory.getInstance("Ed25519");
            PrivateKey priv = factory.generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(privateKeyPkcs8)));
            PublicKey pub = factory.generatePublic(new X509EncodedKeySpec(Base64.getMimeDecoder().decode(publicKeyX509)));
            return new ReceiptSigner(new KeyPair(pub, priv));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("receipt keys must be base64 Ed25519 keys (PKCS#8 private, X.509 public): " + e.getMessage());
        }
    }

    public String keyId() {
        return keyId;
    }

    /** The public key (X.509, base64) that verifies this runner's receipts. */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }

    /** A receipt of the current version ({@link ReceiptPayload} v2) for a cell's result. */
    public Receipt sign(JobId jobId, Cell cell, @Nullable String providerId, String requestSha256, String outputSha256) {
        byte[] signature = signBytes(ReceiptPayload.bytes(Receipt.CURRENT_VERSION, jobId, cell, providerId, requestSha256, outputSha256));
        return new Receipt(requestSha256, outputSha256, keyId, Base64.getEncoder().encodeToString(signature));
    }

    /** A plain Ed25519 signature (RFC 8032, 64 bytes) of {@code payload} with this runner's key. */
    public byte[] signBytes(byte[] payload) {
        Ed25519Signer signer = new Ed25519Signer();
        signer.init(true, signingKey);
        signer.update(payload, 0, payload.length);
        return signer.generateSignature();
    }

    /** Checks a receipt against the given cell; true if this runner's key signed exactly that, in the receipt's version. */
    public boolean verify(JobId jobId, Cell cell, String providerId, Receipt receipt) {
        try {
            Signature signature = Signature.getInstance("Ed25519");
            signature.initVerify(publicKey);
            signature.update(ReceiptPayload.bytes(receipt.version(), jobId, cell, providerId, receipt.requestSha256(), receipt.outputSha256()));
            return signature.verify(Base64.getDecoder().decode(receipt.signature()));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    static String sha256Hex(String text) {
        return Sha256.hex(text);
    }
}
