package dev.beacon.runner.core.evidence;

import static dev.beacon.runner.core.evidence.BundleFixture.changeOneCharacter;
import static dev.beacon.runner.core.evidence.BundleFixture.execution;
import static dev.beacon.runner.core.evidence.BundleFixture.receipt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.evidence.Verification.KeySource;
import dev.beacon.runner.core.evidence.Verification.Problem;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The verifier accepts a bundle exactly as the runner writes it, and any single changed byte of an
 * answer, a receipt, the spec, the job or the seal, and any missing, extra or moved execution, makes
 * it fail with a problem that names the cell or the part.
 */
class BundleVerifierTest {

    private final BundleVerifier verifier = new BundleVerifier();
    private final BundleFixture fixture = BundleFixture.create();
    private final ObjectNode bundle = fixture.build();

    @Test
    void aBundleAsTheRunnerWritesItVerifiesAgainstItsOwnKeys() {
        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).isEmpty();
        assertThat(result.ok()).isTrue();
        assertThat(result.executions()).isEqualTo(12);
        assertThat(result.cells()).isEqualTo(12);
        assertThat(result.receiptsVerified()).isEqualTo(12);
        assertThat(result.sealVerified()).isTrue();
        assertThat(result.keySource()).isEqualTo(KeySource.BUNDLE);
        assertThat(result.keyIds()).containsExactly(fixture.signer().keyId());
    }

    @Test
    void aBundleReadFromItsTextVerifies() {
        JsonNode read = verifier.read(BundleFixture.JSON.print(bundle));

        assertThat(verifier.verify(read).problems()).isEmpty();
    }

    @Test
    void oneChangedCharacterOfAnAnswerFailsNamingItsCellOnly() {
        ObjectNode output = (ObjectNode) execution(bundle, 5).get("output");
        output.put("text", changeOneCharacter(output.get("text").asString(), 3));

        Verification result = verifier.verify(bundle);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.subject()).isEqualTo(label(5));
            assertThat(problem.reason()).contains("outputSha256").contains("answer text hashes to");
        });
        assertThat(result.receiptsVerified()).isEqualTo(12);
        assertThat(result.sealVerified()).isTrue();
    }

    @Test
    void oneChangedByteInsideAMultiByteCharacterOfAnAnswerFails() {
        ObjectNode output = (ObjectNode) execution(bundle, 2).get("output");
        output.put("text", output.get("text").asString().replace("café", "cafè"));

        assertThat(subjects(verifier.verify(bundle))).containsExactly(label(2));
    }

    @ParameterizedTest
    @ValueSource(strings = {"requestSha256", "outputSha256", "runnerKeyId", "signature"})
    void oneChangedCharacterOfAReceiptFieldFailsNamingItsCell(String field) {
        ObjectNode receipt = receipt(bundle, 7);
        receipt.put(field, changeOneCharacter(receipt.get(field).asString(), 10));

        Verification result = verifier.verify(bundle);

        assertThat(result.ok()).isFalse();
        assertThat(subjects(result)).contains(label(7));
        assertThat(subjects(result)).allMatch(subject -> subject.equals(label(7)) || subject.equals("seal"));
        assertThat(result.receiptsVerified()).isEqualTo(11);
    }

    @Test
    void aReceiptWhoseVersionWasChangedFailsNamingItsCell() {
        receipt(bundle, 4).put("version", 1);

        Verification result = verifier.verify(bundle);

        assertThat(subjects(result)).contains(label(4)).allMatch(s -> s.equals(label(4)) || s.equals("seal"));
    }

    @Test
    void anExecutionWithoutItsReceiptFailsNamingItsCell() {
        execution(bundle, 0).putNull("receipt");

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).contains(new Problem(label(0), "has no receipt, but every terminal row has one"));
    }

    @Test
    void aChangedCellOfAnExecutionFailsItsSignature() {
        execution(bundle, 1).put("region", "asia");

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).anySatisfy(p -> {
            assertThat(p.subject()).isEqualTo("climate / llama3.2-1b@asia / 1");
            assertThat(p.reason()).contains("signature does not verify");
        });
        assertThat(result.problems()).anySatisfy(p -> {
            assertThat(p.subject()).isEqualTo("climate / llama3.2-1b@asia / 1");
            assertThat(p.reason()).contains("not a cell of the spec");
        });
        assertThat(subjects(result)).contains(label(1)); // the real cell is now missing
    }

    @Test
    void oneChangedCharacterOfTheSpecFailsNamingTheSpec() {
        ObjectNode question = (ObjectNode) bundle.path("job").path("spec").path("questions").get(1);
        question.put("text", changeOneCharacter(question.get("text").asString(), 0));

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.subject()).isEqualTo("spec");
            assertThat(problem.reason()).contains("specSha256");
        });
    }

    @Test
    void aFieldAddedToTheSpecFailsEvenThoughTheNormalisedSpecIsUnchanged() {
        ((ObjectNode) bundle.path("job").path("spec")).put("metadatb", "x");

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.subject()).isEqualTo("spec");
            assertThat(problem.reason()).contains("normalised form");
        });
    }

    @Test
    void aChangedSpecSha256FailsTheSpecAndTheSeal() {
        ObjectNode job = (ObjectNode) bundle.path("job");
        job.put("specSha256", changeOneCharacter(job.get("specSha256").asString(), 0));

        assertThat(subjects(verifier.verify(bundle))).containsExactly("spec", "seal");
    }

    @Test
    void anUnreadableSpecFailsNamingTheSpecAndTheOtherChecksStillRun() {
        ((ObjectNode) bundle.path("job").path("spec")).remove("limits");

        Verification result = verifier.verify(bundle);

        assertThat(subjects(result)).containsExactly("spec");
        assertThat(result.receiptsVerified()).isEqualTo(12);
        assertThat(result.sealVerified()).isTrue();
        assertThat(result.cells()).isZero();
    }

    @Test
    void oneChangedCharacterOfTheSealRootFailsNamingTheSeal() {
        ObjectNode seal = (ObjectNode) bundle.path("seal");
        seal.put("merkleRoot", changeOneCharacter(seal.get("merkleRoot").asString(), 20));

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).hasSize(2).allSatisfy(p -> assertThat(p.subject()).isEqualTo("seal"));
        assertThat(result.problems()).anySatisfy(p -> assertThat(p.reason()).contains("merkleRoot is"));
        assertThat(result.sealVerified()).isFalse();
        assertThat(result.receiptsVerified()).isEqualTo(12);
    }

    @Test
    void anUpperCaseSealRootFailsBecauseTheSignedRootIsLowerCaseHex() {
        ObjectNode seal = (ObjectNode) bundle.path("seal");
        seal.put("merkleRoot", seal.get("merkleRoot").asString().toUpperCase(java.util.Locale.ROOT));

        assertThat(subjects(verifier.verify(bundle))).containsOnly("seal");
    }

    @Test
    void oneChangedCharacterOfTheSealSignatureFailsNamingTheSeal() {
        ObjectNode seal = (ObjectNode) bundle.path("seal");
        seal.put("signature", changeOneCharacter(seal.get("signature").asString(), 10));

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).singleElement().satisfies(p -> {
            assertThat(p.subject()).isEqualTo("seal");
            assertThat(p.reason()).contains("signature does not verify");
        });
    }

    @Test
    void aChangedLeafCountFailsNamingTheSeal() {
        ((ObjectNode) bundle.path("seal")).put("leaves", 13);

        Verification result = verifier.verify(bundle);

        assertThat(subjects(result)).containsOnly("seal");
        assertThat(result.problems()).anySatisfy(p -> assertThat(p.reason()).isEqualTo("leaves is 13, but the bundle has 12 executions"));
        assertThat(result.sealVerified()).isFalse();
    }

    @Test
    void aChangedJobStatusFailsTheSeal() {
        ((ObjectNode) bundle.path("job")).put("status", "PARTIAL");

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).singleElement().satisfies(p -> {
            assertThat(p.subject()).isEqualTo("seal");
            assertThat(p.reason()).contains("signature does not verify");
        });
    }

    @Test
    void aStatusThatIsNoJobStatusFailsNamingTheJob() {
        ((ObjectNode) bundle.path("job")).put("status", "SUCCEEDEE");

        assertThat(subjects(verifier.verify(bundle))).containsExactly("job", "seal");
    }

    @Test
    void aChangedJobIdFailsEveryReceiptAndTheSeal() {
        ObjectNode job = (ObjectNode) bundle.path("job");
        job.put("id", changeOneCharacter(job.get("id").asString(), 0));

        Verification result = verifier.verify(bundle);

        assertThat(result.receiptsVerified()).isZero();
        assertThat(result.sealVerified()).isFalse();
        assertThat(subjects(result)).containsAll(fixture.cells().stream().map(Problem::label).toList()).contains("seal");
    }

    @Test
    void aRemovedExecutionFailsNamingTheMissingCellAndTheSeal() {
        ((ArrayNode) bundle.path("executions")).remove(9);

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).contains(
                new Problem(label(9), "is missing: the spec has this cell, the bundle has no execution for it"),
                new Problem("seal", "leaves is 12, but the bundle has 11 executions"));
    }

    @Test
    void aRemovedExecutionFailsEvenWhenTheRunnerSealedTheShortList() {
        ((ArrayNode) bundle.path("executions")).remove(9);
        BundleFixture.reseal(bundle, fixture.signer());

        assertThat(verifier.verify(bundle).problems()).containsExactly(
                new Problem(label(9), "is missing: the spec has this cell, the bundle has no execution for it"));
    }

    @Test
    void aDuplicatedExecutionFailsNamingItsCellEvenWhenSealed() {
        ((ArrayNode) bundle.path("executions")).insert(4, execution(bundle, 3).deepCopy());
        BundleFixture.reseal(bundle, fixture.signer());

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).containsExactly(
                new Problem(label(3), "appears 2 times, but a cell has exactly one execution"));
        assertThat(result.executions()).isEqualTo(13);
    }

    @Test
    void twoSwappedExecutionsFailTheSealAndNameBothCells() {
        ArrayNode executions = (ArrayNode) bundle.path("executions");
        JsonNode sixth = executions.get(6).deepCopy();
        executions.set(6, executions.get(2).deepCopy());
        executions.set(2, sixth);

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).anySatisfy(p -> {
            assertThat(p.subject()).isEqualTo("seal");
            assertThat(p.reason()).contains("merkleRoot");
        });
        assertThat(result.problems()).filteredOn(p -> p.reason().contains("out of API order"))
                .extracting(Problem::subject).containsExactlyInAnyOrder(label(2), label(6));
        assertThat(result.receiptsVerified()).isEqualTo(12);
    }

    @Test
    void oneMovedExecutionNamesOnlyThatCellEvenWhenSealedInThatOrder() {
        ArrayNode executions = (ArrayNode) bundle.path("executions");
        JsonNode moved = executions.remove(8);
        executions.insert(1, moved);
        BundleFixture.reseal(bundle, fixture.signer());

        assertThat(verifier.verify(bundle).problems()).singleElement().satisfies(p -> {
            assertThat(p.subject()).isEqualTo(label(8));
            assertThat(p.reason()).startsWith("is out of API order: it is executions[1], but is cell 8 of the spec's order");
        });
    }

    @Test
    void aBundleSignedByAKeyThatIsNotTrustedFailsEveryReceiptAndTheSeal() {
        ReceiptSigner other = ReceiptSigner.ephemeral();
        TrustedKeys trusted = TrustedKeys.fromKeysAnswer(BundleFixture.keysAnswer(other));

        Verification result = verifier.verify(bundle, trusted);

        assertThat(result.ok()).isFalse();
        assertThat(result.keySource()).isEqualTo(KeySource.TRUSTED);
        assertThat(result.receiptsVerified()).isZero();
        assertThat(result.problems()).hasSize(13).allSatisfy(p -> assertThat(p.reason()).contains("which is not a trusted key"));
    }

    @Test
    void aBundleSignedByATrustedKeyVerifiesAgainstTheTrustedKeysOnly() {
        TrustedKeys trusted = TrustedKeys.fromKeysAnswer(BundleFixture.keysAnswer(ReceiptSigner.ephemeral(), fixture.signer()));

        Verification result = verifier.verify(bundle, trusted);

        assertThat(result.problems()).isEmpty();
        assertThat(result.keySource()).isEqualTo(KeySource.TRUSTED);
        assertThat(result.keyIds()).containsExactly(fixture.signer().keyId());
    }

    @Test
    void aBundleCannotBringItsOwnKeyUnderATrustedKeysId() {
        ReceiptSigner trustedRunner = ReceiptSigner.ephemeral();
        BundleFixture forger = BundleFixture.create();
        ObjectNode forged = forger.build();
        String stolenId = trustedRunner.keyId();
        forged.path("executions").forEach(e -> ((ObjectNode) e.get("receipt")).put("runnerKeyId", stolenId));
        ((ObjectNode) forged.path("keys").get(0)).put("keyId", stolenId);
        ((ObjectNode) forged.path("seal")).put("runnerKeyId", stolenId);

        Verification againstItsOwnKeys = verifier.verify(forged);
        Verification againstTrusted = verifier.verify(forged, TrustedKeys.fromKeysAnswer(BundleFixture.keysAnswer(trustedRunner)));

        assertThat(againstItsOwnKeys.problems()).first().satisfies(p -> {
            assertThat(p.subject()).isEqualTo("keys");
            assertThat(p.reason()).contains("keyId must be the first 16 hex digits of the SHA-256 of its key");
        });
        assertThat(againstItsOwnKeys.receiptsVerified()).isZero();
        assertThat(againstTrusted.receiptsVerified()).isZero();
        assertThat(againstTrusted.sealVerified()).isFalse();
        assertThat(againstTrusted.problems()).anySatisfy(p -> assertThat(p.reason()).contains("signature does not verify with key " + stolenId));
    }

    @Test
    void aTrustedKeysEntryWhoseIdIsNotItsKeysIsRejectedAndFailsVerification() {
        ObjectNode answer = BundleFixture.keysAnswer(fixture.signer(), ReceiptSigner.ephemeral());
        ((ObjectNode) answer.path("keys").get(1)).put("keyId", "0000000000000000");

        TrustedKeys trusted = TrustedKeys.fromKeysAnswer(answer);
        Verification result = verifier.verify(bundle, trusted);

        assertThat(trusted.keys()).extracting(TrustedKeys.Key::keyId).containsExactly(fixture.signer().keyId());
        assertThat(result.receiptsVerified()).isEqualTo(12);
        assertThat(subjects(result)).containsExactly("trusted keys");
    }

    @Test
    void version1ReceiptsStillVerify() {
        ObjectNode v1 = BundleFixture.create().receiptVersion(1).build();

        assertThat(receipt(v1, 0).get("version").asInt()).isEqualTo(1);
        assertThat(verifier.verify(v1).problems()).isEmpty();
    }

    @Test
    void receiptsStoredBeforeVersionsExistedReadAsVersion1AndVerify() {
        BundleFixture v1Fixture = BundleFixture.create().receiptVersion(1);
        ObjectNode v1 = v1Fixture.build();
        v1.path("executions").forEach(e -> ((ObjectNode) e.get("receipt")).remove("version"));

        assertThat(verifier.verify(v1).problems()).isEmpty();
    }

    @Test
    void aVersion2ReceiptRelabelledVersion1Fails() {
        ObjectNode v1 = BundleFixture.create().receiptVersion(1).build();
        receipt(v1, 3).put("version", 2);

        assertThat(verifier.verify(v1).ok()).isFalse();
    }

    @Test
    void aCellWithoutAnAnswerVerifiesAgainstTheHashOfTheEmptyString() {
        BundleFixture withGap = BundleFixture.create().withoutAnswerAt(3).withoutAnswerAt(10);
        ObjectNode gapped = withGap.build();

        assertThat(execution(gapped, 3).get("output").isNull()).isTrue();
        assertThat(execution(gapped, 3).get("providerId").isNull()).isTrue();
        assertThat(receipt(gapped, 3).get("outputSha256").asString()).isEqualTo(Sha256.OF_EMPTY);
        assertThat(verifier.verify(gapped).problems()).isEmpty();
    }

    @Test
    void aCellWithoutAnAnswerThatClaimsAnAnswersHashFails() {
        ObjectNode gapped = BundleFixture.create().withoutAnswerAt(3).build();
        receipt(gapped, 3).put("outputSha256", Sha256.hex("an answer"));

        assertThat(verifier.verify(gapped).problems()).anySatisfy(p -> {
            assertThat(p.subject()).isEqualTo(label(3));
            assertThat(p.reason()).contains("the cell has no answer, whose hash is " + Sha256.OF_EMPTY);
        });
    }

    @Test
    void aOneSampleBundleVerifies() {
        assertThat(verifier.verify(BundleFixture.create().samples(1).build()).problems()).isEmpty();
    }

    @Test
    void anExecutionThatCannotBeReadFailsNamingItsPosition() {
        execution(bundle, 8).put("status", "DONE");

        Verification result = verifier.verify(bundle);

        assertThat(result.problems()).anySatisfy(p -> {
            assertThat(p.subject()).isEqualTo("executions[8] (tiananmen / llama3.2-1b@eu / 0)");
            assertThat(p.reason()).startsWith("cannot be read as an execution view");
        });
        assertThat(subjects(result)).contains(label(8), "seal"); // missing, and the root cannot be recomputed
    }

    @Test
    void textThatIsNotJsonIsNotABundle() {
        assertThatThrownBy(() -> verifier.read("{\"format\": \"beacon-bundle/1\", "))
                .isInstanceOf(BundleFormatException.class).hasMessageStartingWith("the bundle is not JSON");
    }

    @Test
    void anotherFormatIsNotABundle() {
        bundle.put("format", "beacon-bundle/2");

        assertThatThrownBy(() -> verifier.verify(bundle))
                .isInstanceOf(BundleFormatException.class).hasMessage("format must be 'beacon-bundle/1', but was 'beacon-bundle/2'");
    }

    @Test
    void aBundleWithoutARequiredPartIsNotABundle() {
        for (String part : List.of("job", "executions", "keys", "seal")) {
            ObjectNode broken = bundle.deepCopy();
            broken.remove(part);
            assertThatThrownBy(() -> verifier.verify(broken)).as(part)
                    .isInstanceOf(BundleFormatException.class).hasMessageStartingWith(part + " must be");
        }
        ObjectNode noLeaves = bundle.deepCopy();
        ((ObjectNode) noLeaves.get("seal")).put("leaves", "twelve");
        assertThatThrownBy(() -> verifier.verify(noLeaves)).isInstanceOf(BundleFormatException.class).hasMessageStartingWith("seal.leaves");
        ObjectNode noSpec = bundle.deepCopy();
        ((ObjectNode) noSpec.get("job")).remove("spec");
        assertThatThrownBy(() -> verifier.verify(noSpec)).isInstanceOf(BundleFormatException.class).hasMessageStartingWith("job.spec");
    }

    @Test
    void aGetKeysAnswerWithoutAKeysArrayIsRejected() {
        assertThatThrownBy(() -> TrustedKeys.fromKeysAnswer(BundleFixture.JSON.parse("{\"key\": []}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("keys must be a JSON array, but was missing");
    }

    private String label(int index) {
        return Problem.label(fixture.cells().get(index));
    }

    private static List<String> subjects(Verification result) {
        return result.problems().stream().map(Problem::subject).distinct().toList();
    }
}
