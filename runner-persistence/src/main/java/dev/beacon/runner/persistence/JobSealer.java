package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.evidence.MerkleTree;
import dev.beacon.runner.core.evidence.ReceiptPayload;
import dev.beacon.runner.core.evidence.Sha256;
import dev.beacon.runner.core.evidence.SealPayload;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.JobSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The evidence the store adds with the runner's key: a receipt for every row handed to it without
 * one (cells that never ran: no request was sent and there is no answer, so both hashes are the hash
 * of the empty string), and a terminal job's {@link Seal} over its rows in API order. Pure: the
 * store reads and writes, this only computes.
 */
final class JobSealer {

    private final ReceiptSigner signer;

    JobSealer(ReceiptSigner signer) {
        this.signer = Objects.requireNonNull(signer, "signer");
    }

    /** {@code result} as stored: with its receipt, or with one signed here if it had none. */
    ExecutionResult withReceipt(JobId jobId, ExecutionResult result) {
        if (result.receipt() != null) {
            return result;
        }
        Receipt receipt = signer.sign(jobId, result.cell(), result.providerId(), Sha256.OF_EMPTY,
                result.output() == null ? Sha256.OF_EMPTY : Sha256.hex(result.output().text()));
        return new ExecutionResult(result.cell(), result.providerId(), result.status(), result.attempts(), result.startedAt(),
                result.completedAt(), result.latencyMs(), result.output(), result.error(), receipt, result.carriedFrom());
    }

    /**
     * The seal of a job that becomes {@code status}: the Merkle root over each row's receipt payload
     * in API order (a carried row's payload names the job that signed it), and the signature over the seal payload. A row without a receipt (stored before
     * every row had one) is a leaf of its v2 payload with empty hashes, which no signature covers:
     * the bundle's verification names that cell.
     */
    Seal seal(JobId jobId, JobSpec spec, String specSha256, JobStatus status, List<ExecutionResult> rows, Instant at) {
        List<byte[]> leaves = new ArrayList<>(rows.size());
        for (ExecutionResult row : inApiOrder(spec, rows)) {
            Receipt r = row.receipt();
            leaves.add(r == null
                    ? ReceiptPayload.bytes(Receipt.CURRENT_VERSION, jobId, row.cell(), row.providerId(), Sha256.OF_EMPTY, Sha256.OF_EMPTY)
                    : ReceiptPayload.bytes(r.version(), row.signedFor(jobId), row.cell(), row.providerId(), r.requestSha256(), r.outputSha256()));
        }
        String root = HexFormat.of().formatHex(MerkleTree.root(leaves));
        byte[] signature = signer.signBytes(SealPayload.bytes(jobId, specSha256, status, leaves.size(), root));
        return new Seal(root, leaves.size(), signer.keyId(), Base64.getEncoder().encodeToString(signature), at);
    }

    /** Rows sorted by their cell's place in {@link CellLayout#cells}; rows outside the layout go last. */
    static List<ExecutionResult> inApiOrder(JobSpec spec, List<ExecutionResult> rows) {
        Map<Cell, Integer> position = new HashMap<>();
        List<Cell> cells = CellLayout.cells(spec);
        for (int i = 0; i < cells.size(); i++) {
            position.put(cells.get(i), i);
        }
        return rows.stream().sorted(Comparator.comparingInt(r -> position.getOrDefault(r.cell(), Integer.MAX_VALUE))).toList();
    }
}
