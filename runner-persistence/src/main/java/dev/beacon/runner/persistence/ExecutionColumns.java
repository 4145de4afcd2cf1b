package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.json.JobJson;
import java.time.OffsetDateTime;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The columns of an {@code executions} row and their values for one result, in one place for every
 * statement that inserts rows: multi-row {@code VALUES} bind these values, and PostgreSQL's
 * {@link FinishedCellsStatement} reads the same columns out of the event data (and checks, when loaded,
 * that it names every one of them).
 */
final class ExecutionColumns {

    /** The column list, in the order of {@link #values}. */
    static final List<String> NAMES = List.of("job_id", "question_id", "model_id", "region", "sample", "provider_id", "status",
            "attempts", "output_json", "receipt_json", "provenance_json", "error_code", "error_message", "started_at",
            "completed_at", "latency_ms", "carried_from");

    /** The JSON columns: PostgreSQL needs them cast to {@code jsonb}. */
    static final List<String> JSON = List.of("output_json", "receipt_json", "provenance_json");

    static final String CSV = String.join(", ", NAMES);

    private ExecutionColumns() {
    }

    /**
     * The row of {@code result} in {@code jobId}, column by column as {@link #NAMES}; absent values are
     * {@code null}. Java types: UUID, String, Integer, Long and OffsetDateTime.
     */
    static @Nullable Object[] values(JobJson json, JobId jobId, ExecutionResult r) {
        return new Object[] {
            jobId.value(),
            r.cell().questionId(),
            r.cell().endpoint().model(),
            r.cell().endpoint().region(),
            r.cell().sample(),
            r.providerId(),
            r.status().name(),
            r.attempts(),
            json.writeOutput(r.output()),
            json.writeReceipt(r.receipt()),
            r.output() == null ? null : json.writeProvenance(r.output().provenance()),
            r.error() == null ? null : r.error().code(),
            r.error() == null ? null : r.error().message(),
            r.startedAt() == null ? null : SqlValues.ts(r.startedAt()),
            SqlValues.ts(r.completedAt()),
            r.latencyMs(),
            r.carriedFrom() == null ? null : r.carriedFrom().value()
        };
    }

    /** The Java type of column {@code i}, for binding a {@code null}. */
    static Class<?> type(int i) {
        return switch (NAMES.get(i)) {
            case "job_id", "carried_from" -> java.util.UUID.class;
            case "sample", "attempts" -> Integer.class;
            case "latency_ms" -> Long.class;
            case "started_at", "completed_at" -> OffsetDateTime.class;
            default -> String.class;
        };
    }
}
