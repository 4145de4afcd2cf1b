package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.store.OwnershipLostException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Mono;
import tools.jackson.core.io.JsonStringEncoder;

/**
 * A batch of {@code execution.finished} appends on PostgreSQL as one statement, so one round trip and
 * no separate commit: the statement locks the batch's jobs rows (in id order, so two batches never
 * deadlock), keeps the items whose job is live and still held under the item's owner and fencing
 * token and whose cell has no row yet, inserts their rows, numbers an event for each of them from the
 * job's {@code event_seq} on, inserts those events and advances {@code event_seq}. Being a single
 * statement it is a transaction by itself: all of it is committed or none.
 *
 * <p>Which cells have a row is read from the statement's snapshot, taken before it waited for the
 * jobs' locks. A row another writer committed in between is not seen; inserting the cell again then
 * fails on its unique key and nothing of the statement is kept, so no seq is ever skipped, and the
 * caller writes the batch again ({@link #RACE_RETRIES}) on a new snapshot that sees the row. Numbering
 * the rows an {@code ON CONFLICT DO NOTHING} insert returned would avoid that retry but needs a join
 * of two CTEs the planner estimates at one row each: a nested loop that cost 72 of 102 ms for 512 rows.
 *
 * <p>The batch travels as one JSON array of the items' event data ({@code jsonb_array_elements}): the
 * event data is the execution view, so each row's columns are read out of it and nothing is encoded
 * twice, neither here nor by the server, which parses each value once. One parameter, so the statement
 * text is the same for every batch size and PostgreSQL prepares it once. (One text array per column,
 * as before, had the driver escape every value into an array literal and the server parse the output,
 * receipt and provenance both in their columns and again in the event data.)
 */
final class FinishedCellsStatement {

    /** One append: the result of a cell of {@code jobId}, fenced by {@code owner} and {@code token} when not null. */
    record Item(JobId jobId, ExecutionResult result, @Nullable String owner, @Nullable Long token) {
    }

    /**
     * What the statement found for one item: its job's row after the lock ({@code found} false: no such
     * job), and the seq of the event stored for it ({@code null}: nothing stored).
     */
    record Row(boolean found, @Nullable JobStatus status, @Nullable String owner, long leaseToken, @Nullable Long seq) {
    }

    /**
     * How often a batch is written again after a duplicate key: each time means another writer
     * committed one of its cells between this statement's snapshot and its lock, which takes a
     * writer on another instance finishing the same cells at that moment.
     */
    static final long RACE_RETRIES = 3;

    /**
     * Each column of the row, read out of the item's event data {@code d} (its execution view, see
     * JsonForms): JSON {@code null} becomes SQL {@code NULL}, and provenance is stored only where the
     * item says so (an empty one is no column, as {@link JobJson#writeProvenance} has it).
     */
    private static final Map<String, String> COLUMN_OF_DATA = Map.ofEntries(
            Map.entry("job_id", "CAST(d->>'jobId' AS uuid)"),
            Map.entry("question_id", "d->>'questionId'"),
            Map.entry("model_id", "d->>'modelId'"),
            Map.entry("region", "d->>'region'"),
            Map.entry("sample", "CAST(d->>'sample' AS int)"),
            Map.entry("provider_id", "d->>'providerId'"),
            Map.entry("status", "d->>'status'"),
            Map.entry("attempts", "CAST(d->>'attempts' AS int)"),
            Map.entry("output_json", "NULLIF(d->'output', 'null')"),
            Map.entry("receipt_json", "NULLIF(d->'receipt', 'null')"),
            Map.entry("provenance_json", "CASE WHEN stores_provenance THEN d->'provenance' END"),
            Map.entry("error_code", "d->'error'->>'code'"),
            Map.entry("error_message", "d->'error'->>'message'"),
            Map.entry("started_at", "CAST(d->>'startedAt' AS timestamptz)"),
            Map.entry("completed_at", "CAST(d->>'completedAt' AS timestamptz)"),
            Map.entry("latency_ms", "CAST(d->>'latencyMs' AS bigint)"),
            Map.entry("carried_from", "CAST(d->>'carriedFrom' AS uuid)"));

    private static final String COLUMNS_OF_DATA;

    static {
        if (!COLUMN_OF_DATA.keySet().equals(Set.copyOf(ExecutionColumns.NAMES))) {
            throw new IllegalStateException("every executions column must be read out of the event data, but "
                    + ExecutionColumns.NAMES + " are not " + COLUMN_OF_DATA.keySet());
        }
        COLUMNS_OF_DATA = ExecutionColumns.NAMES.stream().map(c -> COLUMN_OF_DATA.get(c) + " AS " + c).collect(Collectors.joining(", "));
    }

    private static final String SQL = """
            WITH items AS (
                SELECT CAST(e.ord - 1 AS int) AS ord, e.item->>'owner' AS fence_owner, CAST(e.item->>'token' AS bigint) AS fence_token,
                       CAST(e.item->>'storesProvenance' AS boolean) AS stores_provenance, e.item->'data' AS d
                FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS e(item, ord)
            ),
            input AS (
                SELECT ord, fence_owner, fence_token, d AS data, %1$s FROM items
            ),
            locked AS (
                SELECT id, status, event_seq, owner, lease_token FROM {jobs}
                WHERE id IN (SELECT job_id FROM input) ORDER BY id FOR UPDATE
            ),
            writable AS (
                SELECT DISTINCT ON (i.job_id, i.question_id, i.model_id, i.region, i.sample) i.*
                FROM input i JOIN locked l ON l.id = i.job_id
                WHERE l.status IN ('QUEUED', 'RUNNING')
                  AND (i.fence_owner IS NULL OR (i.fence_owner = l.owner AND (i.fence_token IS NULL OR i.fence_token = l.lease_token)))
                  AND NOT EXISTS (SELECT 1 FROM {executions} e WHERE e.job_id = i.job_id AND e.question_id = i.question_id
                                  AND e.model_id = i.model_id AND e.region = i.region AND e.sample = i.sample)
                ORDER BY i.job_id, i.question_id, i.model_id, i.region, i.sample, i.ord
            ),
            inserted AS (
                INSERT INTO {executions} (%2$s) SELECT %2$s FROM writable
            ),
            numbered AS (
                SELECT w.ord, w.job_id, w.data, l.event_seq + row_number() OVER (PARTITION BY w.job_id ORDER BY w.ord) AS seq
                FROM writable w JOIN locked l ON l.id = w.job_id
            ),
            events AS (
                INSERT INTO {job_events} (job_id, seq, type, data, created_at)
                SELECT job_id, seq, 'execution.finished', jsonb_set(data, '{seq}', to_jsonb(seq)), CAST(:now AS timestamptz)
                FROM numbered
            ),
            advanced AS (
                UPDATE {jobs} j SET event_seq = top.seq
                FROM (SELECT job_id, MAX(seq) AS seq FROM numbered GROUP BY job_id) top
                WHERE j.id = top.job_id
            )
            SELECT i.ord, l.id IS NOT NULL AS found, l.status, l.owner, l.lease_token, n.seq
            FROM input i LEFT JOIN locked l ON l.id = i.job_id LEFT JOIN numbered n ON n.ord = i.ord
            ORDER BY i.ord""".formatted(COLUMNS_OF_DATA, ExecutionColumns.CSV);

    private final Function<String, GenericExecuteSpec> sql;
    private final JobJson json;

    /** @param sql makes a statement of SQL text naming its tables {@code {jobs}}, {@code {executions}}, {@code {job_events}} */
    FinishedCellsStatement(Function<String, GenericExecuteSpec> sql, JobJson json) {
        this.sql = sql;
        this.json = json;
    }

    /**
     * Writes {@code items} with {@code now} as the events' time; emits one {@link Row} per item, in item
     * order, once the statement has committed. Errors with the database's error (nothing committed, or
     * for a lost connection: unknown). Cancelling cancels the statement's result; whether the statement
     * committed is then unknown, and a retry is safe (rows are inserted once per cell).
     */
    Mono<List<Row>> write(List<Item> items, Instant now) {
        int n = items.size();
        GenericExecuteSpec spec = sql.apply(SQL).bind("items", itemsDocument(items, now))
                .bind("now", OffsetDateTime.ofInstant(now, ZoneOffset.UTC).toString());
        return spec.map((r, meta) -> new Row(Boolean.TRUE.equals(r.get("found", Boolean.class)),
                        r.get("status", String.class) == null ? null : JobStatus.valueOf(r.get("status", String.class)),
                        r.get("owner", String.class),
                        r.get("lease_token", Long.class) == null ? 0 : r.get("lease_token", Long.class),
                        r.get("seq", Long.class)))
                .all()
                .collectList()
                .map(rows -> {
                    if (rows.size() != n) {
                        throw new IllegalStateException("the statement must answer each of its " + n + " items, but answered " + rows.size());
                    }
                    return rows;
                });
    }

    /**
     * The items as the statement reads them: {@code [{"owner", "token", "storesProvenance", "data"}, …]},
     * where {@code data} is the event data as stored, its seq a placeholder the statement replaces.
     */
    private String itemsDocument(List<Item> items, Instant now) {
        StringBuilder doc = new StringBuilder(items.size() * 1024).append('[');
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            doc.append(i == 0 ? "{\"owner\":" : ",{\"owner\":");
            if (item.owner() == null) {
                doc.append("null");
            } else {
                doc.append('"');
                JsonStringEncoder.getInstance().quoteAsString(item.owner(), doc);
                doc.append('"');
            }
            InferenceOutput output = item.result().output();
            doc.append(",\"token\":").append(item.token())
                    .append(",\"storesProvenance\":").append(output != null && json.writesProvenance(output.provenance()))
                    .append(",\"data\":")
                    .append(json.writeEventData(new StoredEvent(item.jobId(), 1, now, new JobEvent.ExecutionFinished(item.result()))))
                    .append('}');
        }
        return doc.append(']').toString();
    }

    /** The outcome of each item as the group commit reports it, from the {@code rows} the statement answered. */
    static List<GroupCommit.Outcome<StoredEvent>> outcomes(List<Item> items, List<Row> rows, Instant now) {
        List<GroupCommit.Outcome<StoredEvent>> outcomes = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            Row row = rows.get(i);
            if (!row.found()) {
                outcomes.add(GroupCommit.Outcome.failed(new IllegalArgumentException("job must exist, but " + item.jobId() + " does not")));
            } else if (row.seq() != null) {
                outcomes.add(GroupCommit.Outcome.of(new StoredEvent(item.jobId(), row.seq(), now, new JobEvent.ExecutionFinished(item.result()))));
            } else if (item.owner() != null && Fencing.refuses(Objects.requireNonNull(row.status(), "a found job has a status"),
                    row.owner(), row.leaseToken(), item.owner(), item.token())) {
                // Only a fenced write (one with an owner) is ever refused.
                outcomes.add(GroupCommit.Outcome.failed(new OwnershipLostException(item.jobId(), item.owner(), row.owner())));
            } else {
                outcomes.add(GroupCommit.Outcome.empty()); // the cell had its row already, or the job is terminal
            }
        }
        return outcomes;
    }
}
