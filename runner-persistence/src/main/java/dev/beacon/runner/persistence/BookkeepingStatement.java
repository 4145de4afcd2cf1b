package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import io.r2dbc.spi.Row;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Mono;

/**
 * A bookkeeping append ({@code job.started}, {@code question.started}, {@code question.finished}) on
 * PostgreSQL as one statement, so one round trip instead of a transaction of four statements: it locks
 * the job's row, looks for an event stored earlier under the append's dedupe key, and — when the job is
 * live, the writer still holds it and no such event exists — advances {@code event_seq}, applies the
 * event to the row and inserts it. Being a single statement it is a transaction by itself.
 *
 * <p>The boundary between two questions ({@code question.finished}, then {@code question.started}) is
 * one statement for both ({@link #writeAll}).
 *
 * <p>{@code job.finished} is not done here: it counts the rows and signs the seal over them in Java,
 * under the row lock, so it stays a transaction of its own.
 */
final class BookkeepingStatement {

    /**
     * What the statement found and did: the job's row after the lock ({@code found} false: no such job),
     * the event stored now ({@code seq}), or the one stored earlier under the dedupe key.
     */
    record Result(boolean found, @Nullable JobStatus status, @Nullable String owner, long leaseToken, @Nullable Long seq,
                  @Nullable Long earlierSeq, @Nullable String earlierData, @Nullable OffsetDateTime earlierAt) {
    }

    /** The job's row, locked. */
    private static final String LOCKED = """
            locked AS (
                SELECT id, status, event_seq, owner, lease_token FROM {jobs} WHERE id = :id FOR UPDATE
            )""";

    /** The locked row if the append may store: the job is live, nothing was stored earlier, the fence holds. */
    private static final String ALLOWED = """
            allowed AS (
                SELECT l.id, l.event_seq FROM locked l
                WHERE l.status IN ('QUEUED', 'RUNNING')
                  AND NOT EXISTS (SELECT 1 FROM earlier)
                  AND (CAST(:owner AS text) IS NULL OR (l.owner = CAST(:owner AS text)
                       AND (CAST(:token AS bigint) IS NULL OR l.lease_token = CAST(:token AS bigint))))
            )""";

    private static final String SQL = """
            WITH %1$s,
            earlier AS (
                SELECT seq, data, created_at FROM {job_events} WHERE job_id = :id AND dedupe_key = CAST(:key AS text)
            ),
            %2$s,
            changed AS (
                UPDATE {jobs} j SET event_seq = a.event_seq + 1, %3$s
                FROM allowed a WHERE j.id = a.id
                RETURNING j.event_seq AS seq
            ),
            inserted AS (
                INSERT INTO {job_events} (job_id, seq, type, data, created_at, dedupe_key)
                SELECT :id, seq, :type, jsonb_set(CAST(:data AS jsonb), '{seq}', to_jsonb(seq)), CAST(:now AS timestamptz),
                       CAST(:key AS text)
                FROM changed
            )
            SELECT l.status, l.owner, l.lease_token, (SELECT seq FROM changed) AS seq,
                   e.seq AS earlier_seq, CAST(e.data AS text) AS earlier_data, e.created_at AS earlier_at
            FROM locked l LEFT JOIN earlier e ON TRUE""";

    private static final String JOB_STARTED = SQL.formatted(LOCKED, ALLOWED,
            "status = 'RUNNING', started_at = COALESCE(j.started_at, CAST(:now AS timestamptz)), current_question = NULL");
    private static final String QUESTION_STARTED = SQL.formatted(LOCKED, ALLOWED, "current_question = CAST(:index AS int)");
    private static final String QUESTION_FINISHED = SQL.formatted(LOCKED, ALLOWED, "current_question = j.current_question");

    /**
     * Several question boundary events ({@code question.finished}, {@code question.started}) at once, in
     * order, as the single statement does one: the events travel as one JSON array
     * {@code [{"type", "data", "key"}, …]}; they are all stored or none (none when any of them was
     * stored earlier under its dedupe key: an earlier attempt of the same append committed them together).
     * {@code current_question} becomes the index of the last {@code question.started}, if there is one.
     */
    private static final String QUESTION_BOUNDARY = """
            WITH input AS (
                SELECT CAST(e.ord AS int) AS ord, e.item->>'type' AS type, e.item->'data' AS data, e.item->>'key' AS dedupe_key
                FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS e(item, ord)
            ),
            %1$s,
            earlier AS (
                SELECT seq, data, created_at, dedupe_key FROM {job_events}
                WHERE job_id = :id AND dedupe_key IN (SELECT dedupe_key FROM input WHERE dedupe_key IS NOT NULL)
            ),
            %2$s,
            changed AS (
                UPDATE {jobs} j SET event_seq = a.event_seq + (SELECT count(*) FROM input),
                       current_question = COALESCE(CAST(:index AS int), j.current_question)
                FROM allowed a WHERE j.id = a.id
                RETURNING a.event_seq AS base
            ),
            inserted AS (
                INSERT INTO {job_events} (job_id, seq, type, data, created_at, dedupe_key)
                SELECT :id, c.base + i.ord, i.type, jsonb_set(i.data, '{seq}', to_jsonb(c.base + i.ord)), CAST(:now AS timestamptz),
                       i.dedupe_key
                FROM changed c CROSS JOIN input i
            )
            SELECT i.ord, l.status, l.owner, l.lease_token, (SELECT base FROM changed) + i.ord AS seq,
                   e.seq AS earlier_seq, CAST(e.data AS text) AS earlier_data, e.created_at AS earlier_at
            FROM locked l CROSS JOIN input i LEFT JOIN earlier e ON e.dedupe_key = i.dedupe_key
            ORDER BY i.ord""".formatted(LOCKED, ALLOWED);

    private final Function<String, GenericExecuteSpec> sql;
    private final JobJson json;

    /** @param sql makes a statement of SQL text naming its tables {@code {jobs}} and {@code {job_events}} */
    BookkeepingStatement(Function<String, GenericExecuteSpec> sql, JobJson json) {
        this.sql = sql;
        this.json = json;
    }

    /** Whether {@link #writeAll} stores {@code events}: two or more question boundary events. */
    static boolean handlesAll(List<JobEvent> events) {
        return events.size() > 1
                && events.stream().allMatch(e -> e instanceof JobEvent.QuestionStarted || e instanceof JobEvent.QuestionFinished);
    }

    /**
     * Appends {@code events} (see {@link #handlesAll}) to {@code jobId} at {@code now}, in order, fenced as
     * {@link #write} is, each idempotent under its key in {@code dedupeKeys} (same order; {@code null}: none).
     * Emits one {@link Result} per event, in order, once the statement committed; an empty list when
     * there is no such job. Errors and cancel as {@link #write}.
     */
    Mono<List<Result>> writeAll(JobId jobId, List<JobEvent> events, @Nullable String owner, @Nullable Long token,
                                List<@Nullable String> dedupeKeys, Instant now) {
        StringBuilder doc = new StringBuilder("[");
        Integer lastStarted = null;
        for (int i = 0; i < events.size(); i++) {
            JobEvent event = events.get(i);
            if (event instanceof JobEvent.QuestionStarted q) {
                lastStarted = q.index();
            }
            String key = dedupeKeys.get(i); // made by JournalWriter of a type, digits and ":@": nothing to escape
            // The seq is the statement's to number: a placeholder here, replaced by jsonb_set.
            doc.append(i == 0 ? "{\"type\":\"" : ",{\"type\":\"").append(event.type())
                    .append("\",\"key\":").append(key == null ? "null" : "\"" + key + "\"")
                    .append(",\"data\":").append(json.writeEventData(new StoredEvent(jobId, 1, now, event))).append('}');
        }
        GenericExecuteSpec spec = sql.apply(QUESTION_BOUNDARY)
                .bind("id", jobId.value())
                .bind("events", doc.append(']').toString())
                .bind("now", OffsetDateTime.ofInstant(now, ZoneOffset.UTC).toString());
        spec = lastStarted == null ? spec.bindNull("index", Integer.class) : spec.bind("index", lastStarted);
        spec = owner == null ? spec.bindNull("owner", String.class) : spec.bind("owner", owner);
        spec = token == null ? spec.bindNull("token", Long.class) : spec.bind("token", token);
        return spec.map((r, meta) -> result(r))
                .all()
                .collectList();
    }

    /** A found job's row as the statements answer it. */
    private static Result result(Row r) {
        Long leaseToken = r.get("lease_token", Long.class);
        return new Result(true, JobStatus.valueOf(r.get("status", String.class)), r.get("owner", String.class),
                leaseToken == null ? 0 : leaseToken, r.get("seq", Long.class),
                r.get("earlier_seq", Long.class), r.get("earlier_data", String.class), r.get("earlier_at", OffsetDateTime.class));
    }

    /** Whether this statement stores {@code event}. */
    static boolean handles(JobEvent event) {
        return event instanceof JobEvent.JobStarted || event instanceof JobEvent.QuestionStarted
                || event instanceof JobEvent.QuestionFinished;
    }

    /**
     * Appends {@code event} to {@code jobId} at {@code now}, fenced by {@code owner} and {@code token}
     * when not null, idempotent under {@code dedupeKey} when not null. Emits what the statement found once
     * it committed; errors with the database's error (nothing committed, or for a lost connection:
     * unknown, and a retry under the same dedupe key is safe). Cancelling cancels the statement's result.
     */
    Mono<Result> write(JobId jobId, JobEvent event, @Nullable String owner, @Nullable Long token, @Nullable String dedupeKey,
                       Instant now) {
        String text = event instanceof JobEvent.JobStarted ? JOB_STARTED
                : event instanceof JobEvent.QuestionStarted ? QUESTION_STARTED : QUESTION_FINISHED;
        GenericExecuteSpec spec = sql.apply(text)
                .bind("id", jobId.value())
                .bind("type", event.type())
                // The seq is the statement's to number: a placeholder here, replaced by jsonb_set.
                .bind("data", json.writeEventData(new StoredEvent(jobId, 1, now, event)))
                .bind("now", OffsetDateTime.ofInstant(now, ZoneOffset.UTC).toString());
        spec = dedupeKey == null ? spec.bindNull("key", String.class) : spec.bind("key", dedupeKey);
        spec = owner == null ? spec.bindNull("owner", String.class) : spec.bind("owner", owner);
        spec = token == null ? spec.bindNull("token", Long.class) : spec.bind("token", token);
        if (event instanceof JobEvent.QuestionStarted q) {
            spec = spec.bind("index", q.index());
        }
        return spec.map((r, meta) -> result(r))
                .one()
                .defaultIfEmpty(new Result(false, null, null, 0, null, null, null, null));
    }
}
