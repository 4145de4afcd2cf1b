package dev.beacon.runner.core.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.engine.ReceiptSigner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Receipts and seals are plain Ed25519 (RFC 8032) signatures that OpenSSL 3 verifies with nothing
 * but the public key, the payload bytes and the raw signature, following the README's recipe
 * ("Verifying evidence offline"), which these tests run verbatim. openssl, sh and base64 must be
 * installed: if they are missing, these tests fail rather than skip.
 */
class OpenSslRecipeTest {

    private static final Path README = Path.of("..", "README.md");
    private static final String VERIFIED = "Signature Verified Successfully";
    private static final String NOT_VERIFIED = "Signature Verification Failure";

    @TempDir
    Path dir;

    private final ReceiptSigner signer = ReceiptSigner.ephemeral();

    @Test
    void aReceiptSignatureVerifiesWithOpensslAndOneChangedPayloadByteFailsIt() throws IOException {
        BundleFixture fixture = BundleFixture.create().signedBy(signer);
        ExecutionResult execution = BundleFixture.JSON.readExecution(BundleFixture.execution(fixture.build(), 3));
        byte[] payload = ReceiptPayload.bytes(2, fixture.jobId(), execution.cell(), execution.providerId(),
                execution.receipt().requestSha256(), execution.receipt().outputSha256());
        Files.writeString(dir.resolve("pub.pem"), "-----BEGIN PUBLIC KEY-----\n" + signer.publicKeyBase64() + "\n-----END PUBLIC KEY-----\n");
        Files.write(dir.resolve("payload.bin"), payload);
        Files.write(dir.resolve("sig.bin"), Base64.getDecoder().decode(execution.receipt().signature()));
        List<String> verify = List.of("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
                "-in", "payload.bin", "-sigfile", "sig.bin");

        Result genuine = run(verify);
        payload[payload.length - 1] ^= 0x01;
        Files.write(dir.resolve("payload.bin"), payload);
        Result changed = run(verify);

        assertThat(Files.size(dir.resolve("sig.bin"))).isEqualTo(64);
        assertThat(genuine.exitCode()).as(genuine.output()).isZero();
        assertThat(genuine.output()).contains(VERIFIED);
        assertThat(changed.exitCode()).as(changed.output()).isNotZero();
        assertThat(changed.output()).contains(NOT_VERIFIED);
    }

    @Test
    void theReadmeRecipeVerifiesAVersion2ReceiptAndOneWithoutAnAnswer() throws IOException {
        ObjectNode bundle = BundleFixture.create().signedBy(signer).withoutAnswerAt(4).build();

        Result answered = runRecipe(receiptVariables(bundle, 1), "receipt");
        Result unanswered = runRecipe(receiptVariables(bundle, 4), "receipt");

        assertThat(answered.exitCode()).as(answered.output()).isZero();
        assertThat(answered.output()).contains(VERIFIED);
        assertThat(unanswered.exitCode()).as(unanswered.output()).isZero();
        assertThat(unanswered.output()).contains(VERIFIED);
    }

    @Test
    void theReadmeRecipeVerifiesAVersion1ReceiptAndOneWithoutAProvider() throws IOException {
        ObjectNode bundle = BundleFixture.create().signedBy(signer).receiptVersion(1).withoutAnswerAt(0).build();
        Map<String, String> withoutProvider = receiptVariables(bundle, 0);

        Result answered = runRecipe(receiptVariables(bundle, 2), "receipt");
        Result unanswered = runRecipe(withoutProvider, "receipt");

        assertThat(withoutProvider).containsEntry("PROVIDER", "null").containsEntry("VERSION", "1");
        assertThat(answered.output()).contains(VERIFIED);
        assertThat(unanswered.output()).contains(VERIFIED);
    }

    @Test
    void theReadmeRecipeRejectsAReceiptWithOneChangedCharacter() throws IOException {
        ObjectNode bundle = BundleFixture.create().signedBy(signer).build();
        Map<String, String> variables = receiptVariables(bundle, 5);
        variables.put("OUTPUT_SHA256", BundleFixture.changeOneCharacter(variables.get("OUTPUT_SHA256"), 7));

        Result result = runRecipe(variables, "receipt");

        assertThat(result.exitCode()).as(result.output()).isEqualTo(1);
        assertThat(result.output()).contains(NOT_VERIFIED);
    }

    @Test
    void theReadmeRecipeVerifiesTheSealWithTheKeyTheReceiptRecipeWrote() throws IOException {
        ObjectNode bundle = BundleFixture.create().signedBy(signer).build();
        JsonNode job = bundle.path("job");
        JsonNode seal = bundle.path("seal");
        Map<String, String> variables = receiptVariables(bundle, 0);
        variables.put("SPEC_SHA256", job.path("specSha256").asString());
        variables.put("STATUS", job.path("status").asString());
        variables.put("LEAVES", seal.path("leaves").asString());
        variables.put("MERKLE_ROOT", seal.path("merkleRoot").asString());
        variables.put("SEAL_SIGNATURE", seal.path("signature").asString());

        Result receipt = runRecipe(variables, "receipt");
        Result sealed = runRecipe(variables, "seal");
        variables.put("STATUS", "PARTIAL");
        Result relabelled = runRecipe(variables, "seal");

        assertThat(receipt.output()).contains(VERIFIED);
        assertThat(sealed.exitCode()).as(sealed.output()).isZero();
        assertThat(sealed.output()).contains(VERIFIED);
        assertThat(relabelled.output()).contains(NOT_VERIFIED);
    }

    /** The variables the README asks the reader to copy from one execution view and the {@code GET /keys} entry. */
    private Map<String, String> receiptVariables(ObjectNode bundle, int index) {
        JsonNode execution = BundleFixture.execution(bundle, index);
        JsonNode receipt = execution.path("receipt");
        String version = receipt.path("version").asString("1");
        JsonNode provider = execution.path("providerId");
        Map<String, String> variables = new LinkedHashMap<>();
        variables.put("JOB", bundle.path("job").path("id").asString());
        variables.put("QUESTION", execution.path("questionId").asString());
        variables.put("ENDPOINT", execution.path("modelId").asString() + "@" + execution.path("region").asString());
        variables.put("SAMPLE", execution.path("sample").asString());
        variables.put("PROVIDER", provider.isNull() ? ("1".equals(version) ? "null" : "") : provider.asString());
        variables.put("VERSION", version);
        variables.put("REQUEST_SHA256", receipt.path("requestSha256").asString());
        variables.put("OUTPUT_SHA256", receipt.path("outputSha256").asString());
        variables.put("SIGNATURE", receipt.path("signature").asString());
        variables.put("PUBLIC_KEY", signer.publicKeyBase64());
        return variables;
    }

    /** Runs the README's shell block tagged {@code name} in {@code dir}, after single-quoted assignments of {@code variables}. */
    private Result runRecipe(Map<String, String> variables, String name) throws IOException {
        StringBuilder script = new StringBuilder();
        variables.forEach((key, value) -> script.append(key).append("='").append(value.replace("'", "'\\''")).append("'\n"));
        script.append(readmeBlock(name));
        Path file = dir.resolve(name + ".sh");
        Files.writeString(file, script, StandardCharsets.UTF_8);
        return run(List.of("sh", file.getFileName().toString()));
    }

    /** The fenced block that follows {@code <!-- tested by OpenSslRecipeTest: name -->} in the README. */
    private static String readmeBlock(String name) throws IOException {
        assertThat(README).as("the README next to the modules").exists();
        List<String> lines = Files.readAllLines(README, StandardCharsets.UTF_8);
        int marker = lines.indexOf("<!-- tested by OpenSslRecipeTest: " + name + " -->");
        assertThat(marker).as("README block '%s'", name).isNotNegative();
        assertThat(lines.get(marker + 1)).isEqualTo("```sh");
        List<String> block = new ArrayList<>();
        for (int i = marker + 2; !lines.get(i).equals("```"); i++) {
            block.add(lines.get(i));
        }
        return String.join("\n", block) + "\n";
    }

    private Result run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not exit within 30 s");
            }
            return new Result(process.exitValue(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(command.get(0) + " must be installed (OpenSSL 3, a POSIX sh, coreutils base64): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private record Result(int exitCode, String output) {
    }
}
