package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.StoredEvent;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Each stored event as the bytes of its server-sent-event frame, encoded once however many
 * subscribers receive it: a job's events are immutable and numbered without gaps, so (job, seq)
 * names one frame for good. Bounded crudely — past {@value #CAPACITY} entries the cache starts
 * over, which only costs a re-encoding. Lock-free lookups; two threads may both encode a missing
 * event, and one result wins. Frames are shared: never write into them.
 *
 * <p>A batch of events (one read of a job's shared feed, which every subscriber past the seam gets
 * as it is) is encoded once as the concatenation of its frames, keyed by job and first and last
 * seq; these are larger, so their cache is bounded by bytes ({@value #BATCH_BYTES}).
 */
final class EncodedEvents {

    static final int CAPACITY = 8192;

    static final long BATCH_BYTES = 16L << 20;

    private record Key(JobId job, long seq) {
    }

    private record BatchKey(JobId job, long firstSeq, long lastSeq) {
    }

    private final ConcurrentHashMap<Key, byte[]> frames = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<BatchKey, byte[]> batches = new ConcurrentHashMap<>();
    private final AtomicLong batchBytes = new AtomicLong();

    /** The frames of {@code batch} (non-empty, consecutive events of one job) one after another. */
    byte[] frames(List<StoredEvent> batch, Function<StoredEvent, byte[]> encode) {
        if (batch.size() == 1) {
            return frame(batch.get(0), encode);
        }
        StoredEvent first = batch.get(0);
        BatchKey key = new BatchKey(first.jobId(), first.seq(), batch.get(batch.size() - 1).seq());
        byte[] joined = batches.get(key);
        if (joined != null) {
            return joined;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(batch.size() * 1024);
        for (StoredEvent event : batch) {
            out.writeBytes(frame(event, encode));
        }
        joined = out.toByteArray();
        if (batchBytes.addAndGet(joined.length) > BATCH_BYTES) {
            batches.clear();
            batchBytes.set(joined.length);
        }
        byte[] raced = batches.putIfAbsent(key, joined);
        return raced != null ? raced : joined;
    }

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
