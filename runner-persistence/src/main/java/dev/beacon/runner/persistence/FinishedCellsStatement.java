package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionResult;
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
import java.util.Objects;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Mono;

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
 * <p>The batch travels as one array per column ({@code unnest}), so the statement text is the same
 * for every batch size and PostgreSQL prepares it once.
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

    private static final String ARRAYS;

    static {
        List<String> names = ExecutionColumns.NAMES;
        StringBuilder unnest = new StringBuilder("CAST(:ord AS int[]), CAST(:owner AS text[]), CAST(:token AS bigint[]), CAST(:data AS jsonb[])");
        for (int c = 0; c < names.size(); c++) {
            unnest.append(", CAST(:c").append(c).append(" AS ").append(sqlType(names.get(c))).append("[])");
        }
        ARRAYS = unnest.toString();
    }

    private static final String SQL = """
            WITH input AS (
                SELECT * FROM unnest(%1$s) AS t(ord, fence_owner, fence_token, data, %2$s)
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
            ORDER BY i.ord""".formatted(ARRAYS, ExecutionColumns.CSV);

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
        List<String> names = ExecutionColumns.NAMES;
        Object[][] columns = new Object[names.size()][];
        for (int c = 0; c < names.size(); c++) {
            columns[c] = new String[n];
        }
        Integer[] ord = new Integer[n];
        String[] owner = new String[n];
        Long[] token = new Long[n];
        String[] data = new String[n];
        for (int i = 0; i < n; i++) {
            Item item = items.get(i);
            ord[i] = i;
            owner[i] = item.owner();
            token[i] = item.token();
            // The seq is the statement's to number: a placeholder here, replaced by jsonb_set.
            data[i] = json.writeEventData(new StoredEvent(item.jobId(), 1, now, new JobEvent.ExecutionFinished(item.result())));
            Object[] row = ExecutionColumns.values(json, item.jobId(), item.result());
            for (int c = 0; c < row.length; c++) {
                columns[c][i] = text(row[c]);
            }
        }
        GenericExecuteSpec spec = sql.apply(SQL).bind("ord", ord).bind("owner", owner).bind("token", token).bind("data", data)
                .bind("now", OffsetDateTime.ofInstant(now, ZoneOffset.UTC).toString());
        for (int c = 0; c < names.size(); c++) {
            spec = spec.bind("c" + c, columns[c]);
        }
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

    /** Columns travel as text arrays and are cast in SQL: one array codec (text) for every column type. */
    private static @Nullable String text(@Nullable Object value) {
        if (value == null) {
            return null;
        }
        return value instanceof OffsetDateTime t ? t.toString() : value.toString();
    }

    private static String sqlType(String column) {
        if (ExecutionColumns.JSON.contains(column)) {
            return "jsonb";
        }
        Class<?> type = ExecutionColumns.type(ExecutionColumns.NAMES.indexOf(column));
        if (type == UUID.class) {
            return "uuid";
        }
        if (type == Integer.class) {
            return "int";
        }
        if (type == Long.class) {
            return "bigint";
        }
        if (type == OffsetDateTime.class) {
            return "timestamptz";
        }
        return "text";
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
