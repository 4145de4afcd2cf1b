package dev.beacon.runner.core.evidence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.JobId;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * The exact bytes a receipt's signature covers (README, API: "Execution view"): fields joined by single line feeds,
 * no spaces, no trailing line feed. Version 2 binds the sample; version 1 is kept so that rows
 * signed before samples existed still verify.
 *
 * <pre>
 * v2: beacon-receipt-v2 \n jobId \n questionId \n model@region \n sample \n providerId \n requestSha256 \n outputSha256
 * v1: beacon-receipt-v1 \n jobId \n questionId \n model@region \n providerId \n requestSha256 \n outputSha256
 * </pre>
 * A cell no provider was asked for has an empty {@code providerId} in v2 (v1 wrote {@code null}).
 */
public final class ReceiptPayload {

    public static final String V1 = "beacon-receipt-v1";
    public static final String V2 = "beacon-receipt-v2";

    private ReceiptPayload() {
    }

    /** The payload of a receipt of {@code version} (1 or 2) as text. */
    public static String text(int version, JobId jobId, Cell cell, @Nullable String providerId, String requestSha256, String outputSha256) {
        return switch (version) {
            case 1 -> String.join("\n", V1, jobId.toString(), cell.questionId(), cell.endpoint().toString(),
                    String.valueOf(providerId), requestSha256, outputSha256);
            case 2 -> String.join("\n", V2, jobId.toString(), cell.questionId(), cell.endpoint().toString(),
                    Integer.toString(cell.sample()), providerId == null ? "" : providerId, requestSha256, outputSha256);
            default -> throw new IllegalArgumentException("receipt version must be 1 or 2, but was " + version);
        };
    }

    /** {@link #text} as the UTF-8 bytes that are signed and that are a seal's Merkle leaves. */
    public static byte[] bytes(int version, JobId jobId, Cell cell, @Nullable String providerId, String requestSha256,
                               String outputSha256) {
        return text(version, jobId, cell, providerId, requestSha256, outputSha256).getBytes(StandardCharsets.UTF_8);
    }
}
