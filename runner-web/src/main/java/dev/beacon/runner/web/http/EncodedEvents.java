package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.springframework.http.codec.ServerSentEvent;

/**
 * Each stored event as a server-sent event, built once however many subscribers receive it: a
 * job's events are immutable and numbered without gaps, so (job, seq) names one event for good.
 * Bounded crudely — past {@value #CAPACITY} entries the cache starts over, which only costs a
 * re-encoding. Lock-free lookups; two threads may both encode a missing event, and one result wins.
 */
final class EncodedEvents {

    static final int CAPACITY = 8192;

    private record Key(JobId job, long seq) {
    }

    private final ConcurrentHashMap<Key, ServerSentEvent<String>> events = new ConcurrentHashMap<>();

    ServerSentEvent<String> of(StoredEvent event, Function<StoredEvent, ServerSentEvent<String>> encode) {
        Key key = new Key(event.jobId(), event.seq());
        ServerSentEvent<String> encoded = events.get(key);
        if (encoded != null) {
            return encoded;
        }
        if (events.size() >= CAPACITY) {
            events.clear();
        }
        encoded = encode.apply(event);
        ServerSentEvent<String> raced = events.putIfAbsent(key, encoded);
        return raced != null ? raced : encoded;
    }
}
