package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.List;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Wake-up calls between the parts of a runner, and between instances sharing one database. A signal
 * only says "look again"; the store stays the source of truth, so a lost signal delays, it never loses.
 */
public interface JobSignals {

    sealed interface Signal {
        /** A job was queued (or released) and can be claimed. */
        record JobAvailable() implements Signal {
        }

        /**
         * Events up to {@code seq} are stored for the job. {@code events} are those just committed, in
         * seq order and ending at {@code seq}, when the publisher has them: the instance that wrote them,
         * within its own JVM (other instances get the seq alone). A reader may use them instead of
         * reading the log, but only where they follow on from what it has read; signals can be lost
         * or come out of order.
         */
        record EventsAppended(JobId jobId, long seq, List<StoredEvent> events) implements Signal {
            public EventsAppended {
                events = List.copyOf(events);
            }

            /** The signal with the seq alone: "look again from where you are". */
            public EventsAppended(JobId jobId, long seq) {
                this(jobId, seq, List.of());
            }

            /** Without the events' data: signals are logged (a failed {@code NOTIFY}), answers must not be. */
            @Override
            public String toString() {
                return "EventsAppended[jobId=" + jobId + ", seq=" + seq + ", events=" + events.size() + "]";
            }
        }

        /** Someone asked to cancel the job. */
        record CancelRequested(JobId jobId) implements Signal {
        }

        /** The job this signal is about, or {@code null} for one about no job in particular. */
        static @Nullable JobId jobOf(Signal signal) {
            if (signal instanceof EventsAppended e) {
                return e.jobId();
            }
            return signal instanceof CancelRequested c ? c.jobId() : null;
        }
    }

    /** Publishes a signal to every subscriber in every instance. Errors are logged and dropped. */
    Mono<Void> publish(Signal signal);

    /**
     * Every signal published from now on, by any instance. Hot: never completes while the runner
     * runs; on cancel the subscriber is removed.
     */
    Flux<Signal> signals();

    /**
     * The signals about {@code jobId} published from now on, by any instance: as {@link #signals()},
     * filtered. Implementations route them, so that a signal costs only its own job's subscribers — not
     * every running job and every open event stream of the instance.
     */
    default Flux<Signal> signalsFor(JobId jobId) {
        return signals().filter(s -> jobId.equals(Signal.jobOf(s)));
    }
}
