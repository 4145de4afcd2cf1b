package dev.beacon.runner.web.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Frames and batches of frames are encoded once and shared; a batch is its frames in order. */
class EncodedEventsTest {

    private final JobId job = JobId.random();
    private final AtomicInteger encodings = new AtomicInteger();
    private final Function<StoredEvent, byte[]> encode = event -> {
        encodings.incrementAndGet();
        return ("id:" + event.seq() + "\n\n").getBytes(StandardCharsets.UTF_8);
    };

    @Test
    void aBatchIsTheFramesOfItsEventsInOrderEncodedOnceForEverySubscriber() {
        EncodedEvents encoded = new EncodedEvents();
        List<StoredEvent> batch = List.of(event(3), event(4), event(5));

        byte[] first = encoded.frames(batch, encode);
        byte[] second = encoded.frames(List.copyOf(batch), encode);

        assertThat(new String(first, StandardCharsets.UTF_8)).isEqualTo("id:3\n\nid:4\n\nid:5\n\n");
        assertThat(second).isSameAs(first);
        assertThat(encodings).hasValue(3);
    }

    @Test
    void aBatchReusesTheFramesAlreadyEncodedForItsEvents() {
        EncodedEvents encoded = new EncodedEvents();
        byte[] alone = encoded.frames(List.of(event(7)), encode);

        encoded.frames(List.of(event(7), event(8)), encode);

        assertThat(alone).isSameAs(encoded.frame(event(7), encode));
        assertThat(encodings).hasValue(2);
    }

    @Test
    void batchesOfTheSameJobThatEndDifferentlyAreDifferentEntries() {
        EncodedEvents encoded = new EncodedEvents();

        byte[] shorter = encoded.frames(List.of(event(1), event(2)), encode);
        byte[] longer = encoded.frames(List.of(event(1), event(2), event(3)), encode);

        assertThat(new String(shorter, StandardCharsets.UTF_8)).isEqualTo("id:1\n\nid:2\n\n");
        assertThat(new String(longer, StandardCharsets.UTF_8)).isEqualTo("id:1\n\nid:2\n\nid:3\n\n");
    }

    private StoredEvent event(long seq) {
        return new StoredEvent(job, seq, Instant.EPOCH, new JobEvent.QuestionStarted("q", 0, 1));
    }
}
