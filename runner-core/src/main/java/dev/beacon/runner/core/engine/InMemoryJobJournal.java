package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link JobJournal} kept in memory, for using the engine without a database (scripts, tests,
 * hosts that persist elsewhere). It keeps the same rules as the durable stores: one row per cell,
 * gap-free sequence numbers, terminal jobs never change. Nothing survives the process.
 */
public final class InMemoryJobJournal implements JobJournal {

    private final Clock clock;
    private final Map<JobId, JobLog> jobs = new ConcurrentHashMap<>();

    public InMemoryJobJournal(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Registers a job with its cell count so that counts report pending cells; optional. */
    public void register(JobId jobId, int cells) {
        jobs.computeIfAbsent(jobId, id -> new JobLog(cells));
    }

    /**
     * Appends synchronously; see {@link JobJournal#append}. Never errors; cancel has no effect
     * (the append is done by the time anyone could cancel).
     */
    @Override
    public Mono<StoredEvent> append(JobId jobId, JobEvent event) {
        return Mono.fromCallable(() -> jobs.computeIfAbsent(jobId, id -> new JobLog(-1)).append(jobId, event, clock));
    }

    @Override
    public Flux<ExecutionResult> executions(JobId jobId) {
        return Flux.defer(() -> {
            JobLog log = jobs.get(jobId);
            return log == null ? Flux.empty() : Flux.fromIterable(log.rows());
        });
    }

    /** Every stored event of the job, in sequence order. */
    public List<StoredEvent> events(JobId jobId) {
        JobLog log = jobs.get(jobId);
        return log == null ? List.of() : log.events();
    }

    /** The job's status as recorded so far, or {@code null} if nothing was recorded. */
    public @Nullable JobStatus status(JobId jobId) {
        JobLog log = jobs.get(jobId);
        return log == null ? null : log.status();
    }

    private static final class JobLog {
        private final int cells;
        private final Map<Cell, ExecutionResult> rows = new LinkedHashMap<>();
        private final List<StoredEvent> events = new ArrayList<>();
        private JobStatus status = JobStatus.QUEUED;

        JobLog(int cells) {
            this.cells = cells;
        }

        /** The event as stored, or {@code null} when the journal refuses it (a second row for a cell, a transition not allowed). */
        synchronized @Nullable StoredEvent append(JobId jobId, JobEvent event, Clock clock) {
            JobEvent toStore = event;
            if (event instanceof JobEvent.ExecutionFinished f) {
                if (rows.putIfAbsent(f.result().cell(), f.result()) != null) {
                    return null;
                }
            } else if (event instanceof JobEvent.JobStarted) {
                if (status.isTerminal()) {
                    return null;
                }
                status = JobStatus.RUNNING;
            } else if (event instanceof JobEvent.JobFinished f) {
                if (!status.canTransitionTo(f.status())) {
                    return null;
                }
                status = f.status();
                toStore = new JobEvent.JobFinished(f.status(), counts());
            }
            StoredEvent stored = new StoredEvent(jobId, events.size() + 1L, clock.instant(), toStore);
            events.add(stored);
            return stored;
        }

        private ExecutionCounts counts() {
            ExecutionCounts counts = ExecutionCounts.allPending(Math.max(cells, rows.size()));
            for (ExecutionResult r : rows.values()) {
                counts = counts.plus(r.status());
            }
            return counts;
        }

        synchronized List<ExecutionResult> rows() {
            return List.copyOf(rows.values());
        }

        synchronized List<StoredEvent> events() {
            return List.copyOf(events);
        }

        synchronized JobStatus status() {
            return status;
        }
    }
}
