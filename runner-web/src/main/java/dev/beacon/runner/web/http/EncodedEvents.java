package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Each stored event as the bytes of its server-sent-event frame, encoded once however many
 * subscribers receive it: a job's events are immutable and numbered without gaps, so (job, seq)
 * names one frame for good. Bounded crudely — past {@value #CAPACITY} entries the cache starts
 * over, which only costs a re-encoding. Lock-free lookups; two threads may both encode a missing
 * event, and one result wins. Frames are shared: never write into them.
 */
final class EncodedEvents {

    static final int CAPACITY = 8192;

    private record Key(JobId job, long seq) {
    }

    private final ConcurrentHashMap<Key, byte[]> frames = new ConcurrentHashMap<>();

    byte[] frame(StoredEvent event, Function<StoredEvent, byte[]> encode) {
        Key key = new Key(event.jobId(), event.seq());
        byte[] frame = frames.get(key);
        if (frame != null) {
            return frame;
        }
        if (frames.size() >= CAPACITY) {
            frames.clear();
        }
        frame = encode.apply(event);
        byte[] raced = frames.putIfAbsent(key, frame);
        return raced != null ? raced : frame;
    }
}
