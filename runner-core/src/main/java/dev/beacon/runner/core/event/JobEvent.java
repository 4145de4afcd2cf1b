package dev.beacon.runner.core.event;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Seal;
import org.jspecify.annotations.Nullable;

/**
 * Something that happened to a job, in the order it happened. Stored in the job's event log with a
 * gap-free sequence number (see {@link StoredEvent}) and streamed to subscribers.
 */
public sealed interface JobEvent {

    /** The wire name of the event type, e.g. {@code execution.finished}. */
    String type();

    /** The job was stored and waits for a runner. */
    record JobQueued(int cells) implements JobEvent {
        public String type() {
            return "job.queued";
        }
    }

    /** A runner instance took the job (again, after a takeover). */
    record JobStarted(@Nullable String runner) implements JobEvent {
        public String type() {
            return "job.started";
        }
    }

    /** Question {@code index} (0-based) of {@code total} begins. */
    record QuestionStarted(String questionId, int index, int total) implements JobEvent {
        public String type() {
            return "question.started";
        }
    }

    /** A cell became terminal; its row is stored in the same transaction as this event. */
    record ExecutionFinished(ExecutionResult result) implements JobEvent {
        public String type() {
            return "execution.finished";
        }
    }

    /** Every cell of question {@code index} is terminal. */
    record QuestionFinished(String questionId, int index, ExecutionCounts counts) implements JobEvent {
        public String type() {
            return "question.finished";
        }
    }

    /**
     * The job reached a terminal status; {@code counts} are those of the stored rows and {@code seal}
     * binds them ({@code null} when the store signs nothing, and in events stored before seals existed).
     */
    record JobFinished(JobStatus status, ExecutionCounts counts, @Nullable Seal seal) implements JobEvent {
        public JobFinished {
            if (!status.isTerminal()) {
                throw new IllegalArgumentException("job.finished needs a terminal status, but was " + status);
            }
        }

        /** A job.finished as the engine asks for it: the store adds the seal. */
        public JobFinished(JobStatus status, ExecutionCounts counts) {
            this(status, counts, null);
        }

        public String type() {
            return "job.finished";
        }
    }
}
