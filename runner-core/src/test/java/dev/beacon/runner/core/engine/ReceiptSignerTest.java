package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Receipt;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ReceiptSignerTest {

    private final JobId job = JobId.random();
    private final Cell cell = new Cell("q1", EndpointId.parse("mistral-7b@eu"));

    @Test
    void aReceiptVerifiesWithTheJdkForExactlyTheCellItWasSignedFor() {
        ReceiptSigner signer = ReceiptSigner.ephemeral();
        Receipt receipt = signer.sign(job, cell, "modal-eu", "a".repeat(64), "b".repeat(64));

        assertThat(receipt.runnerKeyId()).isEqualTo(signer.keyId()).hasSize(16);
        assertThat(signer.verify(job, cell, "modal-eu", receipt)).isTrue();
        assertThat(signer.verify(job, new Cell("q2", cell.endpoint()), "modal-eu", receipt)).isFalse();
        assertThat(signer.verify(job, cell, "other-provider", receipt)).isFalse();
        assertThat(signer.verify(job, cell, "modal-eu", new Receipt("c".repeat(64), receipt.outputSha256(), receipt.runnerKeyId(),
                receipt.signature()))).isFalse();
    }

    @Test
    void configuredKeysSignReceiptsThatAnotherInstanceWithTheSameKeysVerifies() throws Exception {
        KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String privateKey = Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded());
        String publicKey = Base64.getEncoder().encodeToString(pair.getPublic().getEncoded());
        ReceiptSigner first = ReceiptSigner.fromBase64(privateKey, publicKey);
        ReceiptSigner restarted = ReceiptSigner.fromBase64(privateKey, publicKey);

        Receipt receipt = first.sign(job, cell, "modal-eu", "a".repeat(64), "b".repeat(64));
        assertThat(restarted.verify(job, cell, "modal-eu", receipt)).isTrue();
        assertThat(restarted.keyId()).isEqualTo(first.keyId());
        assertThat(restarted.publicKeyBase64()).isEqualTo(publicKey);
    }

    @Test
    void keysThatAreNotEd25519AreRejected() {
        assertThatThrownBy(() -> ReceiptSigner.fromBase64("bm90IGEga2V5", "bm90IGEga2V5"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Ed25519");
    }
}
