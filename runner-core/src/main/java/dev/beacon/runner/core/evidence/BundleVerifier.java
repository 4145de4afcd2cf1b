package dev.beacon.runner.core.evidence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.evidence.Verification.KeySource;
import dev.beacon.runner.core.evidence.Verification.Problem;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * Checks an evidence bundle (README, "Seals and bundles") offline: recomputes every answer's {@code outputSha256},
 * checks every receipt's Ed25519 signature over its payload ({@link ReceiptPayload}, in the receipt's
 * version), that the executions are exactly the spec's cells in API order, the spec's hash, the
 * RFC 6962 Merkle root over the receipts' payloads in bundle order, the seal's leaf count and the
 * seal's signature ({@link SealPayload}).
 *
 * <p>Signatures are checked against the bundle's own {@code keys}, or, given {@link TrustedKeys}, only
 * against those (a saved {@code GET /keys} answer): the first shows the bundle is intact, the second
 * also that the trusted runner made it. Every check runs even after one has failed, so that the
 * result names every failing cell and part. Plain blocking code, no Spring; instances are immutable
 * and thread-safe.
 *
 * <p>About 410 lines because it is meant to be read by someone checking a bundle without trusting the
 * runner: every check the README's "Verifying evidence offline" lists is here, in that order, so the
 * list and the code can be compared line by line.
 */
public final class BundleVerifier {

    /** The {@code format} of the bundles this verifier reads. */
    public static final String FORMAT = "beacon-bundle/1";

    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    /** Leaf values compare as JSON, numbers by value ({@code 42} equals {@code 42.0}): text formatting is not content. */
    private static final Comparator<JsonNode> SAME_VALUE = (a, b) ->
            a.isNumber() && b.isNumber() ? a.decimalValue().compareTo(b.decimalValue()) : (a.equals(b) ? 0 : 1);

    private final JobJson json;

    /** A verifier reading JSON with a default mapper. */
    public BundleVerifier() {
        this(new JobJson());
    }

    /** A verifier reading specs and execution views with {@code json}. */
    public BundleVerifier(JobJson json) {
        this.json = Objects.requireNonNull(json, "json");
    }

    /**
     * Parses bundle text into a tree.
     *
     * @throws BundleFormatException if the text is not JSON
     */
    public JsonNode read(String text) {
        try {
            return json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new BundleFormatException("the bundle is not JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Checks a bundle against its own keys.
     *
     * @throws BundleFormatException if the tree is not a bundle (wrong format, a required part missing)
     */
    public Verification verify(JsonNode bundle) {
        return check(bundle, null);
    }

    /**
     * Checks a bundle against the trusted keys only: a receipt or seal signed by a key that is not
     * among them fails, whatever the bundle's own {@code keys} say.
     *
     * @throws BundleFormatException if the tree is not a bundle (wrong format, a required part missing)
     */
    public Verification verify(JsonNode bundle, TrustedKeys trusted) {
        return check(bundle, Objects.requireNonNull(trusted, "trusted"));
    }

    private Verification check(JsonNode bundle, @Nullable TrustedKeys trusted) {
        Parts parts = Parts.of(bundle);
        Findings findings = new Findings(trusted == null ? KeySource.BUNDLE : KeySource.TRUSTED);
        TrustedKeys bundleKeys;
        try {
            bundleKeys = TrustedKeys.fromKeyList(parts.keys());
        } catch (IllegalArgumentException e) {
            throw new BundleFormatException("the bundle's keys cannot be read: " + e.getMessage(), e);
        }
        bundleKeys.rejected().forEach(reason -> findings.add("keys", reason));
        TrustedKeys keys = bundleKeys;
        if (trusted != null) {
            trusted.rejected().forEach(reason -> findings.add("trusted keys", reason));
            keys = trusted;
        }

        JobId jobId = jobId(parts.jobId(), findings);
        JobStatus status = status(parts.status(), findings);
        JobSpec spec = spec(parts.spec(), parts.specSha256(), findings);

        List<Cell> cells = new ArrayList<>();
        List<byte[]> leaves = new ArrayList<>();
        int receiptsVerified = 0;
        for (int i = 0; i < parts.executions().size(); i++) {
            CheckedExecution checked = execution(i, parts.executions().get(i), jobId, keys, findings);
            cells.add(checked.cell());
            leaves.add(checked.leaf());
            receiptsVerified += checked.signatureVerified() ? 1 : 0;
        }
        if (spec != null) {
            layout(spec, cells, findings);
        }
        boolean sealVerified = seal(parts, jobId, status, leaves, keys, findings);
        return new Verification(cells.size(), spec == null ? 0 : CellLayout.cellCount(spec), receiptsVerified, sealVerified,
                findings.source, List.copyOf(findings.keysUsed), findings.problems);
    }

    private static @Nullable JobId jobId(String text, Findings findings) {
        try {
            return JobId.parse(text);
        } catch (IllegalArgumentException e) {
            findings.add("job", e.getMessage() + "; no receipt or seal can match it");
            return null;
        }
    }

    private static @Nullable JobStatus status(String text, Findings findings) {
        JobStatus status;
        try {
            status = JobStatus.valueOf(text);
        } catch (IllegalArgumentException e) {
            findings.add("job", "status must be a job status, but was '" + text + "'; the seal cannot match it");
            return null;
        }
        if (!status.isTerminal()) {
            findings.add("job", "status must be terminal (a bundle is made when the job ends), but was " + status);
        }
        return status;
    }

    /** Reads the spec and checks that it is in normalised form and that {@code specSha256} is its hash; null if unreadable. */
    private @Nullable JobSpec spec(JsonNode node, String claimedSha256, Findings findings) {
        JobSpec spec;
        try {
            spec = json.readSpec(node);
        } catch (RuntimeException e) {
            findings.add("spec", "cannot be read as a job spec: " + e.getMessage());
            return null;
        }
        if (!json.specNode(spec).equals(SAME_VALUE, node)) {
            findings.add("spec", "differs from its normalised form (a field added, missing or changed), "
                    + "which is all that specSha256 covers");
        }
        String actual = json.specSha256(spec);
        if (!actual.equals(claimedSha256)) {
            findings.add("spec", "specSha256 is " + claimedSha256 + ", but the spec hashes to " + actual);
        }
        return spec;
    }

    /** Checks one execution's output hash and receipt signature; its leaf is the receipt's payload. */
    private CheckedExecution execution(int index, JsonNode node, @Nullable JobId jobId, TrustedKeys keys, Findings findings) {
        ExecutionResult result;
        try {
            result = json.readExecution(node);
        } catch (RuntimeException e) {
            findings.add(rawLabel(index, node), "cannot be read as an execution view: " + e.getMessage());
            return new CheckedExecution(null, null, false);
        }
        Cell cell = result.cell();
        String subject = Problem.label(cell);
        Receipt receipt = result.receipt();
        if (receipt == null) {
            findings.add(subject, "has no receipt, but every terminal row has one");
            return new CheckedExecution(cell, null, false);
        }
        String outputSha256 = result.output() == null ? Sha256.OF_EMPTY : Sha256.hex(result.output().text());
        if (!outputSha256.equals(receipt.outputSha256())) {
            findings.add(subject, "outputSha256 is " + receipt.outputSha256() + ", but "
                    + (result.output() == null ? "the cell has no answer, whose hash is " : "the answer text hashes to ") + outputSha256);
        }
        if (!SHA256_HEX.matcher(receipt.requestSha256()).matches()) {
            findings.add(subject, "requestSha256 must be 64 lower-case hex digits, but was '" + receipt.requestSha256() + "'");
        }
        if (jobId == null) {
            return new CheckedExecution(cell, null, false);
        }
        byte[] payload = ReceiptPayload.bytes(receipt.version(), result.signedFor(jobId), cell, result.providerId(),
                receipt.requestSha256(), receipt.outputSha256());
        boolean verified = signature(subject, "receipt", "v" + receipt.version() + " payload (job id, cell, provider, requestSha256, outputSha256)",
                payload, receipt.runnerKeyId(), receipt.signature(), keys, findings);
        return new CheckedExecution(cell, payload, verified);
    }

    /**
     * Every cell of the spec exactly once, nothing else, in API order (question, endpoint, sample).
     * Out of order are the fewest cells whose moving restores the order: those outside a longest
     * run of cells that is already in order, so that a swap names two cells and a moved one names one.
     */
    private static void layout(JobSpec spec, List<Cell> cells, Findings findings) {
        Map<Cell, Integer> seen = new LinkedHashMap<>();
        List<Integer> bundleIndexes = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            Cell cell = cells.get(i);
            if (cell == null || seen.merge(cell, 1, Integer::sum) > 1) {
                continue;
            }
            int position = CellLayout.indexOf(spec, cell);
            if (position < 0) {
                findings.add(Problem.label(cell), "is not a cell of the spec (its question, model, region or sample is not in it)");
            } else {
                bundleIndexes.add(i);
                positions.add(position);
            }
        }
        Set<Integer> inOrder = longestIncreasingRun(positions);
        for (int k = 0; k < positions.size(); k++) {
            if (!inOrder.contains(k)) {
                findings.add(Problem.label(cells.get(bundleIndexes.get(k))), "is out of API order: it is executions[" + bundleIndexes.get(k)
                        + "], but is cell " + positions.get(k) + " of the spec's order (question order, then the spec's models and"
                        + " regions, then sample)");
            }
        }
        seen.forEach((cell, count) -> {
            if (count > 1) {
                findings.add(Problem.label(cell), "appears " + count + " times, but a cell has exactly one execution");
            }
        });
        for (Cell cell : CellLayout.cells(spec)) {
            if (!seen.containsKey(cell)) {
                findings.add(Problem.label(cell), "is missing: the spec has this cell, the bundle has no execution for it");
            }
        }
    }

    /** The indexes of one longest strictly increasing subsequence of {@code values} (patience sorting, n log n). */
    private static Set<Integer> longestIncreasingRun(List<Integer> values) {
        int[] tails = new int[values.size()];
        int[] previous = new int[values.size()];
        int length = 0;
        for (int i = 0; i < values.size(); i++) {
            int low = 0;
            int high = length;
            while (low < high) {
                int mid = (low + high) >>> 1;
                if (values.get(tails[mid]) < values.get(i)) {
                    low = mid + 1;
                } else {
                    high = mid;
                }
            }
            previous[i] = low > 0 ? tails[low - 1] : -1;
            tails[low] = i;
            length = Math.max(length, low + 1);
        }
        Set<Integer> run = new HashSet<>();
        for (int i = length == 0 ? -1 : tails[length - 1]; i >= 0; i = previous[i]) {
            run.add(i);
        }
        return run;
    }

    /** Checks the seal's leaf count, Merkle root and signature; true if the signature verified. */
    private static boolean seal(Parts parts, @Nullable JobId jobId, @Nullable JobStatus status, List<byte[]> leaves, TrustedKeys keys,
                                Findings findings) {
        Seal seal = parts.seal();
        if (seal.leaves() != leaves.size()) {
            findings.add("seal", "leaves is " + seal.leaves() + ", but the bundle has " + leaves.size() + " executions");
        }
        long unreadable = leaves.stream().filter(Objects::isNull).count();
        if (jobId != null && unreadable > 0) {
            findings.add("seal", "merkleRoot cannot be recomputed: " + unreadable + " execution(s) have no checkable receipt");
        } else if (jobId != null) {
            String root = HexFormat.of().formatHex(MerkleTree.root(leaves));
            if (!root.equals(seal.merkleRoot())) {
                findings.add("seal", "merkleRoot is " + seal.merkleRoot() + ", but the receipts' payloads in bundle order give " + root);
            }
        }
        if (jobId == null || status == null) {
            findings.add("seal", "signature cannot be checked without a readable job id and status");
            return false;
        }
        byte[] payload = SealPayload.bytes(jobId, parts.specSha256(), status, seal.leaves(), seal.merkleRoot());
        return signature("seal", "seal", "payload (job id, specSha256, status, leaves, merkleRoot)", payload,
                seal.runnerKeyId(), seal.signature(), keys, findings);
    }

    /** Checks one Ed25519 signature with the key of that id in the set used; a failure is a problem of {@code subject}. */
    private static boolean signature(String subject, String what, String covered, byte[] payload, String keyId,
                                     String signatureBase64, TrustedKeys keys, Findings findings) {
        Optional<TrustedKeys.Key> key = keys.find(keyId);
        if (key.isEmpty()) {
            findings.add(subject, "the " + what + " was signed by key " + keyId + ", which is not "
                    + (findings.source == KeySource.TRUSTED ? "a trusted key" : "among the bundle's keys"));
            return false;
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(signatureBase64);
        } catch (IllegalArgumentException e) {
            findings.add(subject, "the " + what + "'s signature must be base64, but was '" + signatureBase64 + "'");
            return false;
        }
        if (!key.get().verifies(payload, signature)) {
            findings.add(subject, "the " + what + "'s signature does not verify with key " + keyId + " over its " + covered
                    + ": something it covers was changed after signing");
            return false;
        }
        findings.keysUsed.add(keyId);
        return true;
    }

    /** Names an execution that cannot be read: by its position, and by its cell as far as its fields say. */
    private static String rawLabel(int index, JsonNode node) {
        String at = "executions[" + index + "]";
        if (node == null || !node.isObject()) {
            return at;
        }
        return at + " (" + node.path("questionId").asString("?") + " / " + node.path("modelId").asString("?") + "@"
                + node.path("region").asString("?") + " / " + node.path("sample").asString("?") + ")";
    }

    /** What one execution contributed: its cell and leaf ({@code null} where unreadable) and whether its signature verified. */
    private record CheckedExecution(@Nullable Cell cell, byte @Nullable [] leaf, boolean signatureVerified) {
    }

    /** The problems found so far and the keys that verified something. */
    private static final class Findings {
        final KeySource source;
        final List<Problem> problems = new ArrayList<>();
        final Set<String> keysUsed = new LinkedHashSet<>();

        Findings(KeySource source) {
            this.source = source;
        }

        void add(String subject, String reason) {
            problems.add(new Problem(subject, reason));
        }
    }

    private record Seal(String merkleRoot, int leaves, String runnerKeyId, String signature) {
    }

    /** The required parts of a bundle, each checked for presence and type. */
    private record Parts(String jobId, String status, JsonNode spec, String specSha256, JsonNode executions, JsonNode keys, Seal seal) {

        static Parts of(JsonNode bundle) {
            if (bundle == null || !bundle.isObject()) {
                throw new BundleFormatException("a bundle must be a JSON object, but was " + kind(bundle));
            }
            JsonNode format = bundle.path("format");
            if (!format.isString() || !FORMAT.equals(format.stringValue())) {
                throw new BundleFormatException("format must be '" + FORMAT + "', but was "
                        + (format.isString() ? "'" + format.stringValue() + "'" : kind(format)));
            }
            JsonNode job = object(bundle, "job", "job");
            JsonNode seal = object(bundle, "seal", "seal");
            JsonNode leaves = seal.path("leaves");
            if (!leaves.isIntegralNumber() || !leaves.canConvertToInt() || leaves.intValue() < 0) {
                throw new BundleFormatException("seal.leaves must be a whole number >= 0, but was " + kind(leaves));
            }
            return new Parts(string(job, "job.id", "id"), string(job, "job.status", "status"), object(job, "job.spec", "spec"),
                    string(job, "job.specSha256", "specSha256"), array(bundle, "executions"), array(bundle, "keys"),
                    new Seal(string(seal, "seal.merkleRoot", "merkleRoot"), leaves.intValue(),
                            string(seal, "seal.runnerKeyId", "runnerKeyId"), string(seal, "seal.signature", "signature")));
        }

        private static JsonNode object(JsonNode parent, String name, String field) {
            JsonNode value = parent.path(field);
            if (!value.isObject()) {
                throw new BundleFormatException(name + " must be a JSON object, but was " + kind(value));
            }
            return value;
        }

        private static JsonNode array(JsonNode parent, String field) {
            JsonNode value = parent.path(field);
            if (!value.isArray()) {
                throw new BundleFormatException(field + " must be a JSON array, but was " + kind(value));
            }
            return value;
        }

        private static String string(JsonNode parent, String name, String field) {
            JsonNode value = parent.path(field);
            if (!value.isString()) {
                throw new BundleFormatException(name + " must be a string, but was " + kind(value));
            }
            return value.stringValue();
        }

        private static String kind(JsonNode node) {
            return node == null || node.isMissingNode() ? "missing" : node.getNodeType().toString().toLowerCase(Locale.ROOT);
        }
    }
}
