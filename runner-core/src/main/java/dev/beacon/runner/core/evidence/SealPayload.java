package dev.beacon.runner.core.evidence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import java.nio.charset.StandardCharsets;

/**
 * The bytes a job's seal signature covers (README, "Seals and bundles"): {@code beacon-seal-v1}, jobId,
 * specSha256, status, the number of leaves (decimal) and the Merkle root (lower-case hex), joined
 * by single line feeds.
 */
public final class SealPayload {

    public static final String V1 = "beacon-seal-v1";

    private SealPayload() {
    }

    public static String text(JobId jobId, String specSha256, JobStatus status, int leaves, String merkleRootHex) {
        return String.join("\n", V1, jobId.toString(), specSha256, status.name(), Integer.toString(leaves), merkleRootHex);
    }

    public static byte[] bytes(JobId jobId, String specSha256, JobStatus status, int leaves, String merkleRootHex) {
        return text(jobId, specSha256, status, leaves, merkleRootHex).getBytes(StandardCharsets.UTF_8);
    }
}
