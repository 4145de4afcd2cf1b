package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import org.springframework.r2dbc.core.Parameter;
import reactor.core.publisher.Mono;

/**
 * The statements every writer of the journal shares, each to run inside the caller's transaction:
 * locking {@code jobs} rows, inserting execution rows and events, and a job's terminal transition
 * with its seal. They neither retry nor time out; the caller's operation does.
 */
final class JournalStatements {

    private final StoreDatabase db;
    private final SqlDialect dialect;
    private final JobJson json;
    private final JobReads reads;
    /** Signs rows that arrive unsigned and seals terminal jobs; {@code null}: neither. */
    private final @Nullable JobSealer sealer;

    JournalStatements(StoreDatabase db, SqlDialect dialect, JobJson json, JobReads reads, @Nullable JobSealer sealer) {
        this.db = db;
        this.dialect = dialect;
        this.json = json;
        this.reads = reads;
        this.sealer = sealer;
    }

    /** Locks the job's row; errors with {@link IllegalArgumentException} if there is none. */
    Mono<LockedJob> lock(JobId id) {
        return db.sql("SELECT " + LockedJob.COLUMNS + " FROM {jobs} WHERE id = :id FOR UPDATE")
                .bind("id", id.value())
                .map((row, meta) -> JobRows.locked(row))
                .one()
                .switchIfEmpty(Mono.error(() -> new IllegalArgumentException("job must exist, but " + id + " does not")));
    }

    /** Locks the jobs rows in id order (callers pass a sorted set), so that two batches never deadlock. */
    Mono<Map<UUID, LockedJob>> lockAll(Set<UUID> ids) {
        return db.sql("SELECT " + LockedJob.COLUMNS + " FROM {jobs} WHERE id IN (:ids) ORDER BY id FOR UPDATE")
                .bind("ids", List.copyOf(ids))
                .map((row, meta) -> JobRows.locked(row))
                .all()
                .collectMap(j -> j.id().value(), j -> j);
    }

    /**
     * Inserts execution rows, skipping cells that already have one; emits, per result, whether its
     * row was inserted. The caller holds the locks of the rows' jobs. PostgreSQL does it in one
     * statement ({@code RETURNING} names the inserted cells); H2, which has no {@code RETURNING}, in two:
     * a read of the cells that have a row, then one insert of the others.
     */
    Mono<List<Boolean>> insertExecutions(List<ExecutionResult> results, List<JobId> jobIds) {
        if (results.isEmpty()) {
            return Mono.just(List.of());
        }
        if (dialect.supportsReturning()) {
            GenericExecuteSpec spec = bindExecutions(results, jobIds, " ON CONFLICT DO NOTHING RETURNING job_id, question_id, model_id, region, sample");
            return spec.map((row, meta) -> row.get("job_id", UUID.class) + "|" + row.get("question_id", String.class)
                            + "|" + row.get("model_id", String.class) + "|" + row.get("region", String.class)
                            + "|" + row.get("sample", Integer.class))
                    .all().collect(Collectors.toSet())
                    .map(keys -> {
                        // A cell twice in one statement is inserted once: only its first occurrence counts.
                        List<Boolean> inserted = new ArrayList<>();
                        for (int i = 0; i < results.size(); i++) {
                            inserted.add(keys.remove(cellKey(jobIds.get(i), results.get(i).cell())));
                        }
                        return inserted;
                    });
        }
        // No RETURNING (H2): the caller holds the rows' jobs locked, as every writer of executions does
        // first, so the cells that have a row can be read before the insert and none is added meanwhile.
        // Two statements for any number of rows, where one per row was needed before.
        return existingCells(results, jobIds).flatMap(existing -> {
            List<Boolean> inserted = new ArrayList<>();
            List<ExecutionResult> newRows = new ArrayList<>();
            List<JobId> newJobs = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                // A cell twice in one batch is inserted once: its first occurrence.
                boolean insert = existing.add(cellKey(jobIds.get(i), results.get(i).cell()));
                inserted.add(insert);
                if (insert) {
                    newRows.add(results.get(i));
                    newJobs.add(jobIds.get(i));
                }
            }
            return newRows.isEmpty() ? Mono.just(inserted)
                    : bindExecutions(newRows, newJobs, " ON CONFLICT DO NOTHING").fetch().rowsUpdated().thenReturn(inserted);
        });
    }

    /** The cells of {@code results}' jobs and questions that have a row already, as {@link #cellKey}s. */
    private Mono<Set<String>> existingCells(List<ExecutionResult> results, List<JobId> jobIds) {
        return db.sql("SELECT job_id, question_id, model_id, region, sample FROM {executions} WHERE job_id IN (:jobs) AND question_id IN (:questions)")
                .bind("jobs", jobIds.stream().map(JobId::value).distinct().toList())
                .bind("questions", results.stream().map(r -> r.cell().questionId()).distinct().toList())
                .map((row, meta) -> row.get("job_id", UUID.class) + "|" + row.get("question_id", String.class)
                        + "|" + row.get("model_id", String.class) + "|" + row.get("region", String.class)
                        + "|" + row.get("sample", Integer.class))
                .all().collect(Collectors.toCollection(HashSet::new));
    }

    private static String cellKey(JobId jobId, Cell cell) {
        return jobId.value() + "|" + cell.questionId() + "|" + cell.endpoint().model() + "|" + cell.endpoint().region() + "|" + cell.sample();
    }

    /** One multi-row {@code INSERT … VALUES} of {@code results} (row i in job {@code jobIds[i]}), then {@code suffix}. */
    GenericExecuteSpec bindExecutions(List<ExecutionResult> results, List<JobId> jobIds, String suffix) {
        List<String> names = ExecutionColumns.NAMES;
        StringBuilder sql = new StringBuilder("INSERT INTO {executions} (" + ExecutionColumns.CSV + ") VALUES ");
        // One bindValues call: binding one by one copies the binding map per call (quadratic in rows).
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < results.size(); i++) {
            Object[] row = ExecutionColumns.values(json, jobIds.get(i), results.get(i));
            sql.append(i == 0 ? "(" : ", (");
            for (int c = 0; c < names.size(); c++) {
                String param = "c" + c + "_" + i;
                sql.append(c == 0 ? "" : ", ").append(ExecutionColumns.JSON.contains(names.get(c)) ? dialect.json(param) : ":" + param);
                values.put(param, row[c] == null ? Parameter.empty(ExecutionColumns.type(c)) : row[c]);
            }
            sql.append(')');
        }
        return db.sql(sql + suffix).bindValues(values);
    }

    /** Inserts one event with its dedupe key ({@code null} for none). */
    Mono<Void> insertEvent(StoredEvent event, @Nullable String dedupeKey) {
        GenericExecuteSpec spec = db.sql("INSERT INTO {job_events} (job_id, seq, type, data, created_at, dedupe_key) VALUES (:j, :s, :t, %s, :c, :k)"
                .formatted(dialect.json("d")))
                .bind("j", event.jobId().value()).bind("s", event.seq()).bind("t", event.type())
                .bind("d", json.writeEventData(event)).bind("c", SqlValues.ts(event.createdAt()));
        return SqlValues.nullable(spec, "k", dedupeKey, String.class).fetch().rowsUpdated().then();
    }

    /** Inserts events without dedupe keys, in one statement. */
    Mono<Void> insertEvents(List<StoredEvent> events) {
        if (events.isEmpty()) {
            return Mono.empty();
        }
        StringBuilder sql = new StringBuilder("INSERT INTO {job_events} (job_id, seq, type, data, created_at) VALUES ");
        for (int i = 0; i < events.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("(:j%1$d, :s%1$d, :t%1$d, %2$s, :c%1$d)".formatted(i, dialect.json("d" + i)));
        }
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < events.size(); i++) {
            StoredEvent e = events.get(i);
            values.put("j" + i, e.jobId().value());
            values.put("s" + i, e.seq());
            values.put("t" + i, e.type());
            values.put("d" + i, json.writeEventData(e));
            values.put("c" + i, SqlValues.ts(e.createdAt()));
        }
        return db.sql(sql.toString()).bindValues(values).fetch().rowsUpdated().then();
    }

    /**
     * The terminal transition of the (locked) {@code job} to {@code to}, compare-and-set on its status:
     * emits 1 if it happened, 0 if the job had moved on. The job is released and its seq set to {@code seq}.
     */
    Mono<Long> finish(LockedJob job, JobStatus to, long seq, Instant now, @Nullable Seal seal) {
        GenericExecuteSpec update = db.sql("""
                UPDATE {jobs} SET status = :to, finished_at = :now, owner = NULL, lease_until = NULL, event_seq = :seq,
                       seal_json = %s
                WHERE id = :id AND status = :expected""".formatted(dialect.json("seal")))
                .bind("to", to.name()).bind("now", SqlValues.ts(now)).bind("seq", seq)
                .bind("id", job.id().value()).bind("expected", job.status().name());
        return SqlValues.nullable(update, "seal", json.writeSeal(seal), String.class).fetch().rowsUpdated();
    }

    /**
     * The seal of {@code job} becoming {@code to}, over the rows stored so far (the caller holds the
     * job's row lock, so none is added meanwhile); empty when this store signs nothing.
     */
    Mono<Optional<Seal>> sealOf(LockedJob job, JobStatus to, Instant now) {
        if (sealer == null) {
            return Mono.just(Optional.empty());
        }
        return reads.selectSpec(job.id())
                .zipWith(reads.selectExecutions(job.id()).collectList())
                .map(t -> Optional.of(sealer.seal(job.id(), t.getT1().getKey(), t.getT1().getValue(), to, t.getT2(), now)));
    }

    /** {@code result} with a receipt: its own, or one this store signs for a row that arrived without. */
    ExecutionResult signed(JobId jobId, ExecutionResult result) {
        return sealer == null ? result : sealer.withReceipt(jobId, result);
    }
}
