package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The SSE {@code data:} lines of recently streamed events, so that an event watched by a thousand
 * subscribers is encoded once rather than a thousand times. A stored event never changes, so its
 * (job, seq) names its line for good; only the most recent {@code capacity} lines are kept.
 */
final class EncodedEvents {

    private record Key(JobId jobId, long seq) {
    }

    private final Map<Key, String> lines;

    EncodedEvents(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, but was " + capacity);
        }
        this.lines = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, String> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The line of {@code event}, encoded with {@code encode} the first time it is asked for. */
    String line(StoredEvent event, Function<StoredEvent, String> encode) {
        Key key = new Key(event.jobId(), event.seq());
        synchronized (lines) {
            String line = lines.get(key);
            if (line != null) {
                return line;
            }
        }
        // Encoded outside the lock: two subscribers racing on a new event may both encode it, which
        // costs a little CPU once and never a wrong line.
        String line = encode.apply(event);
        synchronized (lines) {
            lines.putIfAbsent(key, line);
        }
        return line;
    }
}
