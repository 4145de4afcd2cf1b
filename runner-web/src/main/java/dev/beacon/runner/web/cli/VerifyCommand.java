package dev.beacon.runner.web.cli;

import dev.beacon.runner.core.evidence.BundleFormatException;
import dev.beacon.runner.core.evidence.BundleVerifier;
import dev.beacon.runner.core.evidence.TrustedKeys;
import dev.beacon.runner.core.evidence.Verification;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code verify BUNDLE.json [--trust-keys KEYS.json]} (README, "Verifying evidence offline"): checks an evidence bundle
 * offline with {@link BundleVerifier}, prints one line per failing cell or part and a summary to
 * stdout, and exits 0 when everything verifies, 1 when anything does not, 2 when the bundle (or the
 * keys file) cannot be read. Plain blocking file reading and CPU work; no Spring, no network.
 */
@Command(name = "verify",
        description = {"Checks an evidence bundle (GET /jobs/{id}/bundle) offline: every answer's outputSha256, every receipt "
                + "signature, that the executions are exactly the spec's cells in API order, the spec hash, the Merkle root "
                + "and the seal."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:everything verifies", "1:something does not verify (each failing cell or part is printed)",
                "2:the bundle cannot be read as a bundle, or the keys file as a GET /keys answer"})
final class VerifyCommand implements Callable<Integer> {

    static final int VERIFIED = 0;
    static final int NOT_VERIFIED = 1;
    static final int UNREADABLE = 2;

    @Parameters(index = "0", paramLabel = "BUNDLE.json", description = "The bundle, as saved from GET /jobs/{id}/bundle.")
    Path bundle;

    @Option(names = "--trust-keys", paramLabel = "KEYS.json",
            description = "Check signatures only against the keys of this saved GET /keys answer, not the bundle's own keys.")
    @Nullable Path trustKeys;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BundleVerifier verifier = new BundleVerifier();
        Verification verification;
        try {
            JsonNode tree = verifier.read(readText(bundle));
            verification = trustKeys == null ? verifier.verify(tree) : verifier.verify(tree, readTrustedKeys(verifier, trustKeys));
        } catch (BundleFormatException e) {
            err.println("NOT A BUNDLE: " + e.getMessage());
            err.flush();
            return UNREADABLE;
        }
        VerificationReport.print(verification, out);
        out.flush();
        return verification.ok() ? VERIFIED : NOT_VERIFIED;
    }

    private static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BundleFormatException(file + " cannot be read: " + describe(e), e);
        }
    }

    private static TrustedKeys readTrustedKeys(BundleVerifier verifier, Path file) {
        try {
            return TrustedKeys.fromKeysAnswer(verifier.read(readText(file)));
        } catch (BundleFormatException | IllegalArgumentException e) {
            throw new BundleFormatException("the keys file " + file + " cannot be read as a GET /keys answer: " + e.getMessage(), e);
        }
    }

    private static String describe(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.charset.CharacterCodingException ? "not UTF-8 text" : e.toString();
    }
}
