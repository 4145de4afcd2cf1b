package dev.beacon.runner.core.evidence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.core.engine.ReceiptSigner;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.ObjectNode;

/** A key set holds only keys whose id is their own and that are Ed25519; the rest are listed as rejected. */
class TrustedKeysTest {

    private final ReceiptSigner runner = ReceiptSigner.ephemeral();

    @Test
    void aGetKeysAnswerGivesTheRunnersKeysUnderTheirIds() {
        ReceiptSigner older = ReceiptSigner.ephemeral();
        TrustedKeys keys = TrustedKeys.fromKeysAnswer(BundleFixture.keysAnswer(older, runner));

        assertThat(keys.rejected()).isEmpty();
        assertThat(keys.keys()).extracting(TrustedKeys.Key::keyId).containsExactly(older.keyId(), runner.keyId());
        assertThat(keys.find(runner.keyId())).get().extracting(TrustedKeys.Key::publicKeyBase64).isEqualTo(runner.publicKeyBase64());
        assertThat(keys.find("ffffffffffffffff")).isEmpty();
    }

    @Test
    void aKeysIdIsTheStartOfTheHashOfItsEncodingAsTheSignerDerivesIt() {
        assertThat(TrustedKeys.keyIdOf(TrustedKeys.decode(runner.publicKeyBase64()))).isEqualTo(runner.keyId());
    }

    @Test
    void aKeyVerifiesExactlyWhatItsSignerSigned() {
        byte[] payload = "beacon-receipt-v2\nx".getBytes(StandardCharsets.UTF_8);
        byte[] signature = runner.signBytes(payload);
        TrustedKeys.Key key = TrustedKeys.fromKeysAnswer(BundleFixture.keysAnswer(runner)).find(runner.keyId()).orElseThrow();

        assertThat(key.verifies(payload, signature)).isTrue();
        payload[payload.length - 1] = 'y';
        assertThat(key.verifies(payload, signature)).isFalse();
        assertThat(key.verifies(payload, new byte[3])).isFalse();
    }

    @Test
    void entriesWithAnotherAlgorithmOrAnUndecodableKeyAreRejected() {
        ObjectNode answer = BundleFixture.keysAnswer(runner, ReceiptSigner.ephemeral(), ReceiptSigner.ephemeral());
        ((ObjectNode) answer.path("keys").get(1)).put("algorithm", "RSA");
        ((ObjectNode) answer.path("keys").get(2)).put("publicKey", Base64.getEncoder().encodeToString(new byte[44]));

        TrustedKeys keys = TrustedKeys.fromKeysAnswer(answer);

        assertThat(keys.keys()).extracting(TrustedKeys.Key::keyId).containsExactly(runner.keyId());
        assertThat(keys.rejected()).hasSize(2);
        assertThat(keys.rejected().get(0)).contains("algorithm must be Ed25519, but was \"RSA\"");
        assertThat(keys.rejected().get(1)).contains("publicKey must be an X.509 Ed25519 public key");
    }

    @Test
    void anEntryWithoutAKeyIsNotAKeyList() {
        assertThatThrownBy(() -> TrustedKeys.fromKeyList(BundleFixture.JSON.parse("[{\"keyId\": \"abc\"}]")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("keys[0] must be an object with string keyId and publicKey");
    }
}
