package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.store.JobRecord;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** One row mapper per table: {@code jobs} (with its execution counts), {@code executions}, {@code job_events}. */
final class JobRows {

    /** The select of {@link #job}: a {@code jobs} row {@code j} with its executions counted per status. */
    static final String JOB_SELECT = """
            SELECT j.id, j.name, j.status, j.spec, j.idempotency_key, j.cells, j.created_at, j.started_at,
                   j.finished_at, j.current_question, j.owner, j.cancel_requested, j.retry_of,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'SUCCEEDED') AS n_succeeded,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'FAILED') AS n_failed,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'TIMED_OUT') AS n_timed_out,
                   (SELECT COUNT(*) FROM {executions} e WHERE e.job_id = j.id AND e.status = 'CANCELLED') AS n_cancelled
            FROM {jobs} j
            """;

    /** The columns {@link #event} reads. */
    static final String EVENT_COLUMNS = "job_id, seq, data, created_at";

    private final JobJson json;

    JobRows(JobJson json) {
        this.json = json;
    }

    /** A {@code jobs} row as selected by {@link #JOB_SELECT}. */
    JobRecord job(Row row, RowMetadata meta) {
        int cells = row.get("cells", Integer.class);
        return new JobRecord(
                new JobId(row.get("id", UUID.class)),
                row.get("name", String.class),
                JobStatus.valueOf(row.get("status", String.class)),
                json.readSpec(row.get("spec", String.class)),
                row.get("idempotency_key", String.class),
                requiredInstant(row, "created_at"),
                instant(row, "started_at"),
                instant(row, "finished_at"),
                counts(cells, count(row, "n_succeeded"), count(row, "n_failed"), count(row, "n_timed_out"), count(row, "n_cancelled")),
                row.get("current_question", Integer.class),
                row.get("owner", String.class),
                Boolean.TRUE.equals(row.get("cancel_requested", Boolean.class)),
                jobId(row, "retry_of"));
    }

    /** An {@code executions} row, every column of {@link ExecutionColumns#CSV}. */
    ExecutionResult execution(Row row, RowMetadata meta) {
        String code = row.get("error_code", String.class);
        return new ExecutionResult(
                new Cell(row.get("question_id", String.class),
                        new EndpointId(row.get("model_id", String.class), row.get("region", String.class)),
                        row.get("sample", Integer.class)),
                row.get("provider_id", String.class),
                ExecutionStatus.valueOf(row.get("status", String.class)),
                row.get("attempts", Integer.class),
                instant(row, "started_at"),
                requiredInstant(row, "completed_at"),
                row.get("latency_ms", Long.class),
                JobJson.withProvenance(json.readOutput(row.get("output_json", String.class)),
                        json.readProvenance(row.get("provenance_json", String.class))),
                code == null ? null : new ExecutionError(code, row.get("error_message", String.class)),
                json.readReceipt(row.get("receipt_json", String.class)),
                jobId(row, "carried_from"));
    }

    /** A {@code job_events} row, the columns of {@link #EVENT_COLUMNS}. */
    StoredEvent event(Row row, RowMetadata meta) {
        return json.readEvent(new JobId(row.get("job_id", UUID.class)), row.get("seq", Long.class),
                requiredInstant(row, "created_at"), row.get("data", String.class));
    }

    /** A {@code jobs} row's {@link LockedJob#COLUMNS}. */
    static LockedJob locked(Row row) {
        return new LockedJob(new JobId(row.get("id", UUID.class)), JobStatus.valueOf(row.get("status", String.class)),
                row.get("event_seq", Long.class), row.get("cells", Integer.class), row.get("owner", String.class),
                row.get("lease_token", Long.class));
    }

    /** The counts of a job of {@code cells} cells; the cells without a row are pending. */
    static ExecutionCounts counts(int cells, int succeeded, int failed, int timedOut, int cancelled) {
        int pending = Math.max(0, cells - succeeded - failed - timedOut - cancelled);
        return new ExecutionCounts(succeeded, failed, timedOut, cancelled, pending);
    }

    /** The instant in a column that may be {@code NULL}; see {@link #requiredInstant} for one that may not. */
    static @Nullable Instant instant(Row row, String column) {
        OffsetDateTime t = row.get(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    /** The instant in a {@code NOT NULL} column. */
    static Instant requiredInstant(Row row, String column) {
        return Objects.requireNonNull(instant(row, column), column);
    }

    private static @Nullable JobId jobId(Row row, String column) {
        UUID id = row.get(column, UUID.class);
        return id == null ? null : new JobId(id);
    }

    private static int count(Row row, String column) {
        Number n = row.get(column, Number.class);
        return n == null ? 0 : n.intValue();
    }
}
