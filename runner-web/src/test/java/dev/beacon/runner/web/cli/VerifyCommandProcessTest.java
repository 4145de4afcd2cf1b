package dev.beacon.runner.web.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.evidence.BundleFixture;
import dev.beacon.runner.core.evidence.Verification.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code verify BUNDLE.json [--trust-keys KEYS.json]} run as a real process of the application's main
 * class: exit 0 for a bundle that verifies, 1 naming each failing cell for one that does not, 2 for a
 * file that is not a bundle; no server is started.
 */
class VerifyCommandProcessTest {

    @TempDir
    Path dir;

    private final BundleFixture fixture = BundleFixture.create();
    private final ObjectNode bundle = fixture.build();

    @Test
    void aBundleAsTheRunnerWritesItVerifiesWithExitCode0AndNoServer() throws IOException {
        CommandLineProcess run = CommandLineProcess.run(dir, "verify", write("bundle.json", bundle));

        assertThat(run.exitCode()).as(run.toString()).isZero();
        assertThat(run.stdoutLines()).containsExactly("OK: 12 executions, seal verified, keys: " + fixture.signer().keyId()
                + " (the bundle's own; --trust-keys KEYS.json checks who signed)");
        assertThat(run.stderr()).isEmpty();
    }

    @Test
    void aTamperedAnswerExitsWith1AndNamesItsCell() throws IOException {
        ObjectNode output = (ObjectNode) BundleFixture.execution(bundle, 5).get("output");
        output.put("text", output.get("text").asString() + "!");
        String cell = Problem.label(fixture.cells().get(5));

        CommandLineProcess run = CommandLineProcess.run(dir, "verify", write("tampered.json", bundle));

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
        assertThat(run.stdoutLines()).hasSize(2);
        assertThat(run.stdoutLines().get(0)).startsWith("FAIL " + cell + ": outputSha256 is ");
        assertThat(run.stdoutLines().get(1)).startsWith("FAILED: 1 problem in 12 executions (12 of 12 receipt signatures verified, seal verified)");
    }

    @Test
    void aFileThatIsNotJsonExitsWith2() throws IOException {
        Path file = dir.resolve("truncated.json");
        String text = BundleFixture.JSON.print(bundle);
        Files.writeString(file, text.substring(0, text.length() / 2), StandardCharsets.UTF_8);

        CommandLineProcess run = CommandLineProcess.run(dir, "verify", file.toString());

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
        assertThat(run.stdout()).isEmpty();
        assertThat(run.stderr()).startsWith("NOT A BUNDLE: the bundle is not JSON");
    }

    @Test
    void aKeysAnswerGivenAsTheBundleExitsWith2() throws IOException {
        CommandLineProcess run = CommandLineProcess.run(dir, "verify", write("keys.json", BundleFixture.keysAnswer(fixture.signer())));

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
        assertThat(run.stderr()).startsWith("NOT A BUNDLE: format must be 'beacon-bundle/1', but was missing");
    }

    @Test
    void aMissingFileExitsWith2() {
        CommandLineProcess run = CommandLineProcess.run(dir, "verify", dir.resolve("nowhere.json").toString());

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
        assertThat(run.stderr()).contains("nowhere.json cannot be read: no such file");
    }

    @Test
    void trustedKeysOfAnotherRunnerExitWith1NamingEveryCellAndTheSeal() throws IOException {
        String keys = write("keys.json", BundleFixture.keysAnswer(ReceiptSigner.ephemeral()));

        CommandLineProcess run = CommandLineProcess.run(dir, "verify", write("bundle.json", bundle), "--trust-keys", keys);

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
        assertThat(run.stdoutLines()).hasSize(14);
        for (var cell : fixture.cells()) {
            assertThat(run.stdout()).contains("FAIL " + Problem.label(cell) + ": the receipt was signed by key "
                    + fixture.signer().keyId() + ", which is not a trusted key");
        }
        assertThat(run.stdout()).contains("FAIL seal: the seal was signed by key");
        assertThat(run.stdoutLines().get(13)).startsWith("FAILED: 13 problems in 12 executions (0 of 12");
    }

    @Test
    void trustedKeysOfTheRunnerThatSignedExitWith0() throws IOException {
        String keys = write("keys.json", BundleFixture.keysAnswer(ReceiptSigner.ephemeral(), fixture.signer()));

        CommandLineProcess run = CommandLineProcess.run(dir, "verify", write("bundle.json", bundle), "--trust-keys", keys);

        assertThat(run.exitCode()).as(run.toString()).isZero();
        assertThat(run.stdoutLines()).containsExactly("OK: 12 executions, seal verified, keys: " + fixture.signer().keyId() + " (trusted)");
    }

    @Test
    void verifyWithoutABundleIsAUsageErrorWithExitCode2() {
        CommandLineProcess run = CommandLineProcess.run(dir, "verify");

        assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
        assertThat(run.stderr()).contains("Missing required parameter: 'BUNDLE.json'").contains("Usage: beacon-runner verify");
    }

    private String write(String name, JsonNode node) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, BundleFixture.JSON.print(node), StandardCharsets.UTF_8);
        return file.toString();
    }
}
