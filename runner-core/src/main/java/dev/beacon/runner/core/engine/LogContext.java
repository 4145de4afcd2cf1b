package dev.beacon.runner.core.engine;

import io.micrometer.context.integration.Slf4jThreadLocalAccessor;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.util.context.Context;

/**
 * Adds log-correlation values (the MDC keys of {@link dev.beacon.runner.core.observe.RunnerObservability})
 * to a Reactor {@link Context}, merged into the map kept under {@link Slf4jThreadLocalAccessor#KEY},
 * so that inner scopes add to the outer ones: job, then question, then cell, then provider.
 */
final class LogContext {

    private LogContext() {
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
