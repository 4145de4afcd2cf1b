package dev.beacon.runner.core.event;

import dev.beacon.runner.core.domain.JobId;
import java.time.Instant;
import java.util.Objects;

/** An event as stored in a job's log: {@code seq} runs 1, 2, 3, … per job with no gaps. */
public record StoredEvent(JobId jobId, long seq, Instant createdAt, JobEvent event) {

    public StoredEvent {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(event, "event");
        if (seq < 1) {
            throw new IllegalArgumentException("seq must be >= 1, but was " + seq);
        }
    }

    public String type() {
        return event.type();
    }

    public boolean isTerminal() {
        return event instanceof JobEvent.JobFinished;
    }
}
