package dev.beacon.runner.core.engine;

import io.micrometer.context.ContextSnapshot;
import io.micrometer.context.ContextSnapshotFactory;
import io.micrometer.context.integration.Slf4jThreadLocalAccessor;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * Adds log-correlation values (the MDC keys of {@link dev.beacon.runner.core.observe.RunnerObservability})
 * to a Reactor {@link Context}, merged into the map kept under {@link Slf4jThreadLocalAccessor#KEY},
 * so that inner scopes add to the outer ones: job, then question, then cell, then provider; and
 * writes the engine's own log lines with those values in the MDC.
 *
 * <p>The engine does not rely on Reactor's automatic context propagation for its own lines: that
 * restores every registered thread local at every operator of every cell, a quarter of the event
 * loops' time in the 500 × 8 benchmark (README, Performance). Each engine line is written through
 * {@link #log} instead, which puts the context's values in the MDC for that line only. With
 * automatic propagation on, the MDC already holds them and {@link #log} changes nothing; lines of
 * other libraries then carry them too.
 */
final class LogContext {

    /** Restores only the MDC accessor's key, through the accessors registered in the global registry. */
    private static final ContextSnapshotFactory SNAPSHOTS = ContextSnapshotFactory.builder().build();

    private LogContext() {
    }

    /**
     * Runs {@code line} (a log call) with the MDC values of {@code context} in the SLF4J MDC, and
     * restores the thread's MDC after it. The values reach the MDC only through the engine's MDC
     * accessor ({@link dev.beacon.runner.core.observe.RunnerObservability#registerMdcAccessor()}); while
     * none is registered, {@code line} just runs.
     */
    static void log(ContextView context, Runnable line) {
        try (ContextSnapshot.Scope ignored = SNAPSHOTS.setThreadLocalsFrom(context, Slf4jThreadLocalAccessor.KEY)) {
            line.run();
        }
    }

    /**
     * Returns {@code context} with the given key/value pairs added to its MDC map; a null value
     * removes its key.
     *
     * @param keysAndValues alternating keys and values: {@code key1, value1, key2, value2, …}
     */
    static Context with(Context context, @Nullable String... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keysAndValues must come in pairs, but had " + keysAndValues.length + " elements");
        }
        Map<String, String> merged = new HashMap<>();
        // The accessor captures a caller's MDC (block(), subscribe under automatic propagation) with a
        // null for every key it did not have: those mean "absent".
        context.<Map<String, String>>getOrEmpty(Slf4jThreadLocalAccessor.KEY).ifPresent(outer -> outer.forEach((key, value) -> {
            if (key != null && value != null) {
                merged.put(key, value);
            }
        }));
        for (int i = 0; i < keysAndValues.length; i += 2) {
            if (keysAndValues[i + 1] == null) {
                merged.remove(keysAndValues[i]);
            } else {
                merged.put(keysAndValues[i], keysAndValues[i + 1]);
            }
        }
        return context.put(Slf4jThreadLocalAccessor.KEY, Map.copyOf(merged));
    }
}
