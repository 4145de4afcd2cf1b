package dev.beacon.runner.core.engine;

import java.time.Instant;
import java.util.Optional;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * The instant a job must be done by, carried in the Reactor {@link Context} of everything the job
 * runs, so that each execution's timeout shrinks to {@code min(executionTimeout, deadline - now)}.
 */
final class JobDeadline {

    private static final String KEY = JobDeadline.class.getName();

    private JobDeadline() {
    }

    static Context with(Context context, Instant deadline) {
        return context.put(KEY, deadline);
    }

    static Optional<Instant> from(ContextView context) {
        return context.getOrEmpty(KEY);
    }
}
