package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.store.OwnershipLostException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;
import reactor.core.publisher.Mono;

/**
 * Appends as a transaction of several statements that first locks the job's row: every append on H2,
 * which has no {@code RETURNING} to do it in one statement, and {@code job.finished} on both databases
 * (it counts and seals the rows under the lock). Each method returns the transaction, not yet run:
 * the {@link JournalWriter} runs it within the store's timeout and retries it.
 */
final class LockingAppends {

    private final StoreDatabase db;
    private final JournalStatements statements;
    private final JobReads reads;
    private final JobRows rows;

    LockingAppends(StoreDatabase db, JournalStatements statements, JobReads reads, JobRows rows) {
        this.db = db;
        this.statements = statements;
        this.reads = reads;
        this.rows = rows;
    }

    /**
     * One append: refused with {@link OwnershipLostException} when fenced; with a {@code dedupeKey}, the
     * event stored earlier under that key if there is one; empty when the job's state lets nothing be
     * stored (terminal, or a transition it cannot make).
     */
    Mono<StoredEvent> append(JobId jobId, JobEvent event, @Nullable String owner, @Nullable Long token, @Nullable String dedupeKey) {
        // Only a fenced write (one with an owner) is ever refused.
        return db.transactional(statements.lock(jobId).flatMap(job -> owner != null && job.refuses(owner, token)
                ? Mono.error(new OwnershipLostException(jobId, owner, job.owner()))
                : dedupeKey == null ? appendLocked(job, event, null)
                : storedWithKey(jobId, dedupeKey).switchIfEmpty(Mono.defer(() -> appendLocked(job, event, dedupeKey)))));
    }

    /** The event stored earlier under {@code dedupeKey}, if any (a retried append). */
    private Mono<StoredEvent> storedWithKey(JobId jobId, String dedupeKey) {
        return db.sql("SELECT " + JobRows.EVENT_COLUMNS + " FROM {job_events} WHERE job_id = :id AND dedupe_key = :key")
                .bind("id", jobId.value()).bind("key", dedupeKey)
                .map(rows::event).one();
    }

    private Mono<StoredEvent> appendLocked(LockedJob job, JobEvent event, @Nullable String dedupeKey) {
        Instant now = db.now();
        long seq = job.eventSeq() + 1;
        StoredEvent stored;
        Mono<Long> change;
        if (event instanceof JobEvent.JobStarted) {
            // RUNNING → RUNNING is a resume by a new owner, not a transition.
            if (job.status() != JobStatus.RUNNING && !job.status().canTransitionTo(JobStatus.RUNNING)) {
                return Mono.empty();
            }
            stored = new StoredEvent(job.id(), seq, now, event);
            change = db.sql("""
                    UPDATE {jobs} SET status = 'RUNNING', started_at = COALESCE(started_at, :now), current_question = NULL,
                           event_seq = :seq
                    WHERE id = :id AND status = :expected""")
                    .bind("now", SqlValues.ts(now)).bind("seq", seq).bind("id", job.id().value()).bind("expected", job.status().name())
                    .fetch().rowsUpdated();
        } else if (event instanceof JobEvent.JobFinished f) {
            if (!job.status().canTransitionTo(f.status())) {
                return Mono.empty(); // already terminal: a lost race, not an error
            }
            return Mono.zip(reads.selectCounts(job.id(), job.cells()), statements.sealOf(job, f.status(), now)).flatMap(countsAndSeal -> {
                Seal seal = countsAndSeal.getT2().orElse(null);
                var replaced = new StoredEvent(job.id(), seq, now, new JobEvent.JobFinished(f.status(), countsAndSeal.getT1(), seal));
                return statements.finish(job, f.status(), seq, now, seal).flatMap(n -> n == 0 ? Mono.<StoredEvent>empty()
                        : statements.insertEvents(List.of(replaced)).thenReturn(replaced));
            });
        } else {
            if (job.status().isTerminal()) {
                return Mono.empty(); // a terminal job never changes again, its log included
            }
            stored = new StoredEvent(job.id(), seq, now, event);
            GenericExecuteSpec update = event instanceof JobEvent.QuestionStarted q
                    ? db.sql("UPDATE {jobs} SET current_question = :index, event_seq = :seq WHERE id = :id AND status = :expected")
                            .bind("index", q.index())
                    : db.sql("UPDATE {jobs} SET event_seq = :seq WHERE id = :id AND status = :expected");
            change = update.bind("seq", seq).bind("id", job.id().value()).bind("expected", job.status().name())
                    .fetch().rowsUpdated();
        }
        return change.flatMap(n -> n == 0 ? Mono.<StoredEvent>empty() : statements.insertEvent(stored, dedupeKey).thenReturn(stored));
    }

    /**
     * One batch of {@code execution.finished} appends where one statement cannot do it (H2): lock the
     * batch's jobs, insert the rows, advance the seqs, insert the events. Outcomes in item order.
     */
    Mono<List<GroupCommit.Outcome<StoredEvent>>> writeFinished(List<FinishedCellsStatement.Item> items) {
        Set<UUID> ids = items.stream().map(i -> i.jobId().value()).collect(Collectors.toCollection(TreeSet::new));
        return db.transactional(statements.lockAll(ids).flatMap(locked -> {
            List<Integer> writable = new ArrayList<>();
            Set<Integer> refused = new HashSet<>();
            for (int i = 0; i < items.size(); i++) {
                LockedJob job = locked.get(items.get(i).jobId().value());
                if (job != null && job.refuses(items.get(i).owner(), items.get(i).token())) {
                    refused.add(i);
                } else if (job != null && !job.status().isTerminal()) {
                    writable.add(i);
                }
            }
            return statements.insertExecutions(writable.stream().map(items::get).map(FinishedCellsStatement.Item::result).toList(),
                            writable.stream().map(i -> items.get(i).jobId()).toList())
                    .flatMap(inserted -> {
                        Instant now = db.now();
                        Map<UUID, Long> seqs = new LinkedHashMap<>();
                        locked.forEach((id, job) -> seqs.put(id, job.eventSeq()));
                        List<GroupCommit.Outcome<StoredEvent>> outcomes = new ArrayList<>();
                        List<StoredEvent> events = new ArrayList<>();
                        int w = 0;
                        for (int i = 0; i < items.size(); i++) {
                            FinishedCellsStatement.Item item = items.get(i);
                            UUID id = item.jobId().value();
                            if (!locked.containsKey(id)) {
                                outcomes.add(GroupCommit.Outcome.failed(
                                        new IllegalArgumentException("job must exist, but " + id + " does not")));
                            } else if (refused.contains(i)) {
                                outcomes.add(GroupCommit.Outcome.failed(
                                        new OwnershipLostException(item.jobId(), Objects.requireNonNull(item.owner(),
                                                "a refused write has an owner"), locked.get(id).owner())));
                            } else if (w < writable.size() && writable.get(w) == i) {
                                if (inserted.get(w++)) {
                                    long seq = seqs.merge(id, 1L, Long::sum);
                                    var stored = new StoredEvent(item.jobId(), seq, now, new JobEvent.ExecutionFinished(item.result()));
                                    events.add(stored);
                                    outcomes.add(GroupCommit.Outcome.of(stored));
                                } else {
                                    outcomes.add(GroupCommit.Outcome.empty()); // the cell already had its row
                                }
                            } else {
                                outcomes.add(GroupCommit.Outcome.empty()); // job already terminal
                            }
                        }
                        // seqs has exactly the locked jobs' ids.
                        seqs.entrySet().removeIf(e -> e.getValue()
                                == Objects.requireNonNull(locked.get(e.getKey()), "locked job").eventSeq());
                        return advanceSeqs(seqs).then(statements.insertEvents(events)).thenReturn(outcomes);
                    });
        }));
    }

    /** Sets {@code event_seq} of several (locked) jobs in one statement: one round trip per batch, not per job. */
    private Mono<Void> advanceSeqs(Map<UUID, Long> seqs) {
        if (seqs.isEmpty()) {
            return Mono.empty();
        }
        StringBuilder sql = new StringBuilder("UPDATE {jobs} SET event_seq = CASE id");
        for (int n = 0; n < seqs.size(); n++) {
            sql.append(" WHEN :i").append(n).append(" THEN :s").append(n);
        }
        sql.append(" ELSE event_seq END WHERE id IN (:ids)");
        GenericExecuteSpec spec = db.sql(sql.toString()).bind("ids", List.copyOf(seqs.keySet()));
        int i = 0;
        for (Map.Entry<UUID, Long> e : seqs.entrySet()) {
            spec = spec.bind("i" + i, e.getKey()).bind("s" + i, e.getValue());
            i++;
        }
        return spec.fetch().rowsUpdated().then();
    }
}
