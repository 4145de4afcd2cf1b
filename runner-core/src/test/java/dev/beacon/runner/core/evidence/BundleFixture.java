package dev.beacon.runner.core.evidence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Builds evidence bundles as README, "Seals and bundles" describes them, signed with a real Ed25519 key: a spec of
 * two questions asked of {@code llama3.2-1b@us}, {@code llama3.2-1b@eu} and {@code mistral-7b@eu},
 * two samples each by default (12 executions, in API order), answers with non-ASCII text, receipts
 * of {@link ReceiptPayload} version 2 (or 1), the RFC 6962 root over their payloads and a signed seal.
 * Also writes {@code GET /keys} answers and makes the small edits tampering tests need. Shared with
 * other modules' tests through runner-core's test jar.
 */
public final class BundleFixture {

    public static final JobJson JSON = new JobJson();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Instant CREATED = Instant.parse("2026-12-01T10:00:00Z");

    private final JobId jobId = JobId.random();
    private ReceiptSigner signer = ReceiptSigner.ephemeral();
    private int samples = 2;
    private int receiptVersion = Receipt.CURRENT_VERSION;
    private final Set<Integer> unanswered = new HashSet<>();

    private BundleFixture() {
    }

    /** A fixture with a fresh key, two samples and version 2 receipts. */
    public static BundleFixture create() {
        return new BundleFixture();
    }

    /** Signs receipts and the seal with {@code signer} instead of the fixture's own fresh key. */
    public BundleFixture signedBy(ReceiptSigner signer) {
        this.signer = signer;
        return this;
    }

    public BundleFixture samples(int samples) {
        this.samples = samples;
        return this;
    }

    /** Signs every receipt with the payload of {@code version} (1: as rows stored before samples existed). */
    public BundleFixture receiptVersion(int version) {
        this.receiptVersion = version;
        return this;
    }

    /** Makes the cell at {@code index} (API order) one that was cancelled before any provider was asked: no answer, no provider. */
    public BundleFixture withoutAnswerAt(int index) {
        unanswered.add(index);
        return this;
    }

    public ReceiptSigner signer() {
        return signer;
    }

    public JobId jobId() {
        return jobId;
    }

    public JobSpec spec() {
        return new JobSpec("evidence-fixture",
                List.of(new Question("climate", "What is your stance on climate change?"),
                        new Question("tiananmen", "What happened at Tiananmen Square in 1989?")),
                List.of(new ModelSelection("llama3.2-1b", List.of("us", "eu")), new ModelSelection("mistral-7b", List.of("eu"))),
                InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.5, Map.of("requestedBy", "tests"), samples);
    }

    /** The cells of the spec in API order. */
    public List<Cell> cells() {
        return CellLayout.cells(spec());
    }

    /** A bundle as the runner writes it for this fixture's job. */
    public ObjectNode build() {
        JobSpec spec = spec();
        List<Cell> cells = CellLayout.cells(spec);
        ObjectNode bundle = NODES.objectNode().put("format", BundleVerifier.FORMAT);
        ObjectNode job = bundle.putObject("job")
                .put("id", jobId.toString())
                .put("name", spec.name())
                .put("status", (unanswered.isEmpty() ? JobStatus.SUCCEEDED : JobStatus.PARTIAL).name())
                .put("createdAt", CREATED.toString())
                .put("startedAt", CREATED.plusSeconds(1).toString())
                .put("finishedAt", CREATED.plusSeconds(60).toString());
        job.set("spec", JSON.specNode(spec));
        job.put("specSha256", JSON.specSha256(spec));
        ArrayNode executions = bundle.putArray("executions");
        for (int i = 0; i < cells.size(); i++) {
            executions.add(JSON.executionNode(result(cells.get(i), unanswered.contains(i))));
        }
        bundle.putArray("keys").addObject()
                .put("keyId", signer.keyId())
                .put("algorithm", "Ed25519")
                .put("publicKey", signer.publicKeyBase64());
        return reseal(bundle, signer);
    }

    /**
     * Seals the bundle again as its runner would over its current executions (root, leaves,
     * signature), the way a dishonest or broken runner would seal a wrong set of executions.
     */
    public static ObjectNode reseal(ObjectNode bundle, ReceiptSigner sealer) {
        JsonNode job = bundle.path("job");
        JobId jobId = JobId.parse(job.path("id").asString());
        List<byte[]> leaves = new ArrayList<>();
        for (JsonNode node : bundle.path("executions")) {
            ExecutionResult r = JSON.readExecution(node);
            leaves.add(ReceiptPayload.bytes(r.receipt().version(), jobId, r.cell(), r.providerId(),
                    r.receipt().requestSha256(), r.receipt().outputSha256()));
        }
        String root = HexFormat.of().formatHex(MerkleTree.root(leaves));
        byte[] payload = SealPayload.bytes(jobId, job.path("specSha256").asString(), JobStatus.valueOf(job.path("status").asString()),
                leaves.size(), root);
        bundle.putObject("seal")
                .put("merkleRoot", root)
                .put("leaves", leaves.size())
                .put("runnerKeyId", sealer.keyId())
                .put("signature", Base64.getEncoder().encodeToString(sealer.signBytes(payload)))
                .put("sealedAt", CREATED.plusSeconds(60).toString());
        return bundle;
    }

    /** A {@code GET /keys} answer listing these signers' keys. */
    public static ObjectNode keysAnswer(ReceiptSigner... signers) {
        ObjectNode answer = NODES.objectNode();
        ArrayNode keys = answer.putArray("keys");
        for (ReceiptSigner s : signers) {
            keys.addObject()
                    .put("keyId", s.keyId())
                    .put("algorithm", "Ed25519")
                    .put("publicKey", s.publicKeyBase64())
                    .put("createdAt", CREATED.toString());
        }
        return answer;
    }

    /** The execution at {@code index} of a bundle, to edit in place. */
    public static ObjectNode execution(JsonNode bundle, int index) {
        return (ObjectNode) bundle.path("executions").get(index);
    }

    /** The receipt of the execution at {@code index}, to edit in place. */
    public static ObjectNode receipt(JsonNode bundle, int index) {
        return (ObjectNode) execution(bundle, index).get("receipt");
    }

    /**
     * {@code text} with the character at {@code at} replaced by another of the same kind (hex digit
     * by hex digit, letter by letter), so that hex stays hex and base64 stays base64.
     */
    public static String changeOneCharacter(String text, int at) {
        char c = text.charAt(at);
        char replacement = c == '0' ? '1' : c == 'a' ? 'b' : c == 'A' ? 'B' : Character.isDigit(c) ? '0' : Character.isUpperCase(c) ? 'A' : 'a';
        return text.substring(0, at) + replacement + text.substring(at + 1);
    }

    private ExecutionResult result(Cell cell, boolean noAnswer) {
        String requestSha256 = Sha256.hex("request for " + cell);
        Instant completed = CREATED.plusSeconds(2 + cell.sample());
        if (noAnswer) {
            return new ExecutionResult(cell, null, ExecutionStatus.CANCELLED, 0, null, completed, null, null,
                    new ExecutionError(ExecutionError.CANCELLED, "job cancelled before the cell started"),
                    receipt(cell, null, requestSha256, Sha256.OF_EMPTY));
        }
        String providerId = "simulated-" + cell.endpoint().region();
        InferenceOutput output = new InferenceOutput("Answer of " + cell.endpoint() + " to " + cell.questionId()
                + ", sample " + cell.sample() + ": naïve café, 天安门 ✓", "stop", new TokenUsage(31, 212));
        return new ExecutionResult(cell, providerId, ExecutionStatus.SUCCEEDED, 1, completed.minusMillis(812), completed, 812L,
                output, null, receipt(cell, providerId, requestSha256, Sha256.hex(output.text())));
    }

    private Receipt receipt(Cell cell, String providerId, String requestSha256, String outputSha256) {
        if (receiptVersion == Receipt.CURRENT_VERSION) {
            return signer.sign(jobId, cell, providerId, requestSha256, outputSha256);
        }
        byte[] signature = signer.signBytes(ReceiptPayload.bytes(receiptVersion, jobId, cell, providerId, requestSha256, outputSha256));
        return new Receipt(requestSha256, outputSha256, signer.keyId(), Base64.getEncoder().encodeToString(signature), receiptVersion);
    }
}
