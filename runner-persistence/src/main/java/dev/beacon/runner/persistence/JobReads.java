package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.store.EvidenceStore.JobEvidence;
import dev.beacon.runner.core.store.JobQuery;
import dev.beacon.runner.core.store.JobRecord;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The read model: the queries of the store's ports. Each public-facing read runs through
 * {@link StoreDatabase#run} (its scheduler and timeout, erroring with the store's error); the
 * {@code select…} methods are the bare statements, for writes that read inside their own transaction.
 */
final class JobReads {

    private final StoreDatabase db;
    private final JobRows rows;
    private final JobJson json;

    JobReads(StoreDatabase db, JobRows rows, JobJson json) {
        this.db = db;
        this.rows = rows;
        this.json = json;
    }

    Mono<JobRecord> find(JobId id) {
        return db.run(selectJob(id));
    }

    Mono<JobRecord> selectJob(JobId id) {
        return db.sql(JobRows.JOB_SELECT + " WHERE j.id = :id").bind("id", id.value()).map(rows::job).one();
    }

    /** Newest first ({@code created_at}, then id, descending), after the {@code before} job if given. */
    Flux<JobRecord> list(JobQuery query) {
        StringBuilder where = new StringBuilder(" WHERE 1 = 1");
        if (query.status() != null) {
            where.append(" AND j.status = :status");
        }
        if (query.before() != null) {
            where.append(" AND EXISTS (SELECT 1 FROM {jobs} b WHERE b.id = :before AND (j.created_at < b.created_at"
                    + " OR (j.created_at = b.created_at AND j.id < b.id)))");
        }
        GenericExecuteSpec spec = db.sql(JobRows.JOB_SELECT + where + " ORDER BY j.created_at DESC, j.id DESC LIMIT :limit")
                .bind("limit", query.limit());
        if (query.status() != null) {
            spec = spec.bind("status", query.status().name());
        }
        if (query.before() != null) {
            spec = spec.bind("before", query.before().value());
        }
        return db.run(spec.map(rows::job).all());
    }

    /** The jobs that retry {@code source}, newest first. */
    Flux<JobId> retriesOf(JobId source) {
        return db.run(db.sql("SELECT id FROM {jobs} WHERE retry_of = :source ORDER BY created_at DESC, id DESC")
                .bind("source", source.value())
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all());
    }

    /**
     * Every row of the job in API order, read one question at a time (a page is one question's
     * rows, sorted in memory), so that an export of any size holds one page at a time and a
     * subscriber that cancels stops the reading. Rows of questions the spec does not list (there
     * should be none) come last rather than vanish. Errors with the store's error, page by page.
     */
    Flux<ExecutionResult> orderedExecutions(JobId id) {
        return db.run(db.sql("SELECT spec FROM {jobs} WHERE id = :id").bind("id", id.value())
                .map((row, meta) -> json.readSpec(row.get("spec", String.class))).one())
                .flatMapMany(spec -> {
                    List<String> questionIds = spec.questions().stream().map(q -> q.id()).toList();
                    Flux<ExecutionResult> inOrder = Flux.fromIterable(questionIds)
                            .concatMap(q -> db.run(db.sql("SELECT " + ExecutionColumns.CSV
                                                    + " FROM {executions} WHERE job_id = :id AND question_id = :q")
                                            .bind("id", id.value()).bind("q", q).map(rows::execution).all())
                                    .collectList()
                                    .flatMapIterable(page -> JobSealer.inApiOrder(spec, page)), 0);
                    Flux<ExecutionResult> strays = db.run(db.sql("SELECT " + ExecutionColumns.CSV
                            + " FROM {executions} WHERE job_id = :id AND question_id NOT IN (:questions)")
                            .bind("id", id.value()).bind("questions", questionIds).map(rows::execution).all());
                    return inOrder.concatWith(strays);
                });
    }

    Mono<JobEvidence> evidence(JobId id) {
        return db.run(db.sql("SELECT spec_sha256, seal_json FROM {jobs} WHERE id = :id").bind("id", id.value())
                .map((row, meta) -> new JobEvidence(row.get("spec_sha256", String.class), json.readSeal(row.get("seal_json", String.class))))
                .one());
    }

    /** The job's rows in no particular order. */
    Flux<ExecutionResult> executions(JobId jobId) {
        return db.run(selectExecutions(jobId));
    }

    Flux<ExecutionResult> selectExecutions(JobId jobId) {
        return db.sql("SELECT " + ExecutionColumns.CSV + " FROM {executions} WHERE job_id = :id")
                .bind("id", jobId.value()).map(rows::execution).all();
    }

    /** The job's spec and its stored {@code spec_sha256}. */
    Mono<Map.Entry<JobSpec, String>> selectSpec(JobId jobId) {
        return db.sql("SELECT spec, spec_sha256 FROM {jobs} WHERE id = :id").bind("id", jobId.value())
                .map((row, meta) -> Map.entry(json.readSpec(row.get("spec", String.class)), row.get("spec_sha256", String.class)))
                .one();
    }

    /** The job's events after {@code afterSeq}, in seq order. */
    Flux<StoredEvent> events(JobId id, long afterSeq) {
        return db.run(db.sql("SELECT " + JobRows.EVENT_COLUMNS + " FROM {job_events} WHERE job_id = :id AND seq > :after ORDER BY seq")
                .bind("id", id.value()).bind("after", afterSeq).map(rows::event).all());
    }

    /** Those of {@code jobs} that are live and asked to cancel: one query for all of them. */
    Flux<JobId> cancelRequested(Collection<JobId> jobs) {
        if (jobs.isEmpty()) {
            return Flux.empty();
        }
        return db.run(db.sql("SELECT id FROM {jobs} WHERE id IN (:ids) AND cancel_requested AND status IN ('QUEUED', 'RUNNING')")
                .bind("ids", jobs.stream().map(JobId::value).toList())
                .map((row, meta) -> new JobId(row.get("id", UUID.class)))
                .all());
    }

    /** The job's rows counted per status, for a job of {@code cells} cells. */
    Mono<ExecutionCounts> selectCounts(JobId id, int cells) {
        return db.sql("SELECT status, COUNT(*) AS n FROM {executions} WHERE job_id = :id GROUP BY status")
                .bind("id", id.value())
                .map((row, meta) -> Map.entry(ExecutionStatus.valueOf(row.get("status", String.class)),
                        row.get("n", Number.class).intValue()))
                .all()
                .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                .map(by -> JobRows.counts(cells, by.getOrDefault(ExecutionStatus.SUCCEEDED, 0), by.getOrDefault(ExecutionStatus.FAILED, 0),
                        by.getOrDefault(ExecutionStatus.TIMED_OUT, 0), by.getOrDefault(ExecutionStatus.CANCELLED, 0)));
    }
}
