package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.evidence.BundleVerifier;
import dev.beacon.runner.core.evidence.MerkleTree;
import dev.beacon.runner.core.evidence.TrustedKeys;
import dev.beacon.runner.core.evidence.Verification;
import dev.beacon.runner.core.evidence.ReceiptPayload;
import dev.beacon.runner.core.evidence.SealPayload;
import dev.beacon.runner.core.evidence.Sha256;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.codec.ServerSentEvent;
import tools.jackson.databind.JsonNode;

/**
 * The evidence of a finished job through the real stack: every execution has a receipt (cells that
 * never ran too), the job is sealed once with the Merkle root over the receipts' payloads, the
 * bundle is the same bytes on every call, and everything in it checks out with nothing but the JDK
 * and the published key.
 */
@RunnerApiTest
class EvidenceBundleTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final RunnerClient client;

    EvidenceBundleTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void aFinishedJobsBundleVerifiesWithThePublishedKeyAndIsTheSameOnEveryCall() throws Exception {
        String id = client.submit(RunnerClient.referenceJob().replace("\"name\": \"reference-8q\"", "\"name\": \"bundle\", \"samples\": 2"), null)
                .json().path("id").asString();
        List<ServerSentEvent<String>> events = client.eventsUntilEnd(id, null, null, TIMEOUT);
        JsonNode finished = RunnerClient.data(events.get(events.size() - 1));

        RawHttp.Response first = client.get("/jobs/" + id + "/bundle");
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(client.get("/jobs/" + id + "/bundle").body()).as("byte-identical").isEqualTo(first.body());
        JsonNode bundle = first.json();
        assertThat(bundle.path("format").asString()).isEqualTo("beacon-bundle/1");
        assertThat(bundle.path("executions")).hasSize(128);
        assertThat(bundle.path("seal")).isEqualTo(finished.path("seal"));
        assertThat(bundle.path("seal").path("leaves").asInt()).isEqualTo(128);

        Map<String, PublicKey> published = publishedKeys();
        assertThat(bundle.path("keys").valueStream().map(k -> k.path("keyId").asString())).allMatch(published::containsKey);
        assertVerifies(bundle, published);
        assertThat(client.job(id).path("links").path("bundle").asString()).isEqualTo("/jobs/" + id + "/bundle");

        // The offline verifier agrees, against the bundle's keys and against only the published ones.
        BundleVerifier verifier = new BundleVerifier();
        Verification own = verifier.verify(verifier.read(first.body()));
        assertThat(own.problems()).isEmpty();
        assertThat(own.sealVerified()).isTrue();
        assertThat(own.receiptsVerified()).isEqualTo(128);
        assertThat(verifier.verify(verifier.read(first.body()), TrustedKeys.fromKeysAnswer(verifier.read(client.get("/keys").body()))).ok()).isTrue();
        // One changed character of one answer fails and names its cell.
        JsonNode firstAnswer = bundle.path("executions").get(0);
        var tamperedTree = (tools.jackson.databind.node.ObjectNode) RawHttp.JSON.readTree(first.body());
        var output = (tools.jackson.databind.node.ObjectNode) tamperedTree.path("executions").get(0).path("output");
        output.put("text", output.path("text").asString().replaceFirst(".$", "!"));
        String tampered = RawHttp.JSON.writeValueAsString(tamperedTree);
        assertThat(verifier.verify(verifier.read(tampered)).problems()).isNotEmpty()
                .anySatisfy(p -> assertThat(p.subject()).contains(firstAnswer.path("questionId").asString(),
                        firstAnswer.path("modelId").asString() + "@" + firstAnswer.path("region").asString()));
    }

    @Test
    void aJobCancelledBeforeItRanIsSealedWithReceiptsForCellsThatNeverRan() throws Exception {
        // Many slow questions: the job is still queued or running when it is asked for its bundle.
        StringBuilder questions = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            questions.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"Question ").append(i).append("?\"}");
        }
        String id = client.submit("{\"questions\":[" + questions + "],\"models\":[{\"id\":\"mistral-7b\"}],\"samples\":3}", null)
                .json().path("id").asString();

        RawHttp.Response early = client.get("/jobs/" + id + "/bundle");
        assertThat(early.status()).isEqualTo(409);
        assertThat(early.json().path("detail").asString()).containsAnyOf("is QUEUED;", "is RUNNING;");
        assertThat(early.json().path("detail").asString()).contains("evidence bundle exists once it has finished");

        assertThat(client.cancel(id).status()).isEqualTo(202);
        client.eventsUntilEnd(id, null, null, TIMEOUT);
        JsonNode bundle = client.get("/jobs/" + id + "/bundle").json();
        assertThat(bundle.path("job").path("status").asString()).isEqualTo("CANCELLED");
        assertThat(bundle.path("executions")).hasSize(200 * 2 * 3)
                .allSatisfy(e -> assertThat(e.path("receipt").path("signature").asString()).isNotBlank());
        assertThat(bundle.path("executions").valueStream().filter(e -> e.path("status").asString().equals("CANCELLED")))
                .isNotEmpty()
                .allSatisfy(e -> assertThat(e.path("receipt").path("outputSha256").asString()).isEqualTo(Sha256.OF_EMPTY));
        assertVerifies(bundle, publishedKeys());
    }

    @Test
    void theRunnersKeyIsPublished() {
        JsonNode keys = client.get("/keys").json().path("keys");
        assertThat(keys).isNotEmpty().allSatisfy(k -> {
            assertThat(k.path("algorithm").asString()).isEqualTo("Ed25519");
            assertThat(k.path("keyId").asString()).hasSize(16)
                    .isEqualTo(Sha256.hex(Base64.getDecoder().decode(k.path("publicKey").asString())).substring(0, 16));
            assertThat(k.path("createdAt").isString()).isTrue();
        });
    }

    private Map<String, PublicKey> publishedKeys() throws Exception {
        Map<String, PublicKey> keys = new HashMap<>();
        for (JsonNode k : client.get("/keys").json().path("keys")) {
            keys.put(k.path("keyId").asString(), KeyFactory.getInstance("Ed25519")
                    .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(k.path("publicKey").asString()))));
        }
        return keys;
    }

    /** Checks every receipt, the Merkle root and the seal with the JDK's Ed25519, as an outsider would. */
    private static void assertVerifies(JsonNode bundle, Map<String, PublicKey> keys) throws Exception {
        JobId job = JobId.parse(bundle.path("job").path("id").asString());
        List<byte[]> leaves = new ArrayList<>();
        for (JsonNode e : bundle.path("executions")) {
            JsonNode r = e.path("receipt");
            Cell cell = new Cell(e.path("questionId").asString(), new EndpointId(e.path("modelId").asString(), e.path("region").asString()),
                    e.path("sample").asInt());
            String text = e.path("output").path("text").asString(null);
            assertThat(r.path("outputSha256").asString()).isEqualTo(text == null ? Sha256.OF_EMPTY : Sha256.hex(text));
            String provider = e.path("providerId").isNull() ? null : e.path("providerId").asString();
            byte[] payload = ReceiptPayload.bytes(r.path("version").asInt(), job, cell, provider,
                    r.path("requestSha256").asString(), r.path("outputSha256").asString());
            assertThat(verify(keys.get(r.path("runnerKeyId").asString()), payload, r.path("signature").asString()))
                    .as("receipt of %s", cell).isTrue();
            leaves.add(payload);
        }
        JsonNode seal = bundle.path("seal");
        String root = HexFormat.of().formatHex(MerkleTree.root(leaves));
        assertThat(seal.path("merkleRoot").asString()).isEqualTo(root);
        byte[] sealed = SealPayload.bytes(job, bundle.path("job").path("specSha256").asString(),
                JobStatus.valueOf(bundle.path("job").path("status").asString()), leaves.size(), root);
        assertThat(verify(keys.get(seal.path("runnerKeyId").asString()), sealed, seal.path("signature").asString())).as("seal").isTrue();
    }

    private static boolean verify(PublicKey key, byte[] payload, String signature) throws Exception {
        assertThat(key).as("a published key").isNotNull();
        Signature verifier = Signature.getInstance("Ed25519");
        verifier.initVerify(key);
        verifier.update(payload);
        return verifier.verify(Base64.getDecoder().decode(signature));
    }
}
