package dev.beacon.runner.web.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EncodedEventsTest {

    private final JobId job = JobId.random();
    private final AtomicInteger encodings = new AtomicInteger();

    private String encode(StoredEvent e) {
        encodings.incrementAndGet();
        return "line " + e.jobId() + " " + e.seq();
    }

    @Test
    void anEventStreamedToManySubscribersIsEncodedOnce() {
        EncodedEvents cache = new EncodedEvents(8);
        StoredEvent event = new StoredEvent(job, 3, Instant.EPOCH, new JobEvent.JobStarted("a"));
        for (int subscriber = 0; subscriber < 1000; subscriber++) {
            // each subscriber may hold its own copy of the event (replay reads), equal by job and seq
            assertThat(cache.line(new StoredEvent(job, 3, Instant.EPOCH, event.event()), this::encode)).isEqualTo("line " + job + " 3");
        }
        assertThat(encodings).hasValue(1);
    }

    @Test
    void onlyTheMostRecentLinesAreKept() {
        EncodedEvents cache = new EncodedEvents(2);
        for (long seq = 1; seq <= 3; seq++) {
            cache.line(new StoredEvent(job, seq, Instant.EPOCH, new JobEvent.JobStarted("a")), this::encode);
        }
        cache.line(new StoredEvent(job, 1, Instant.EPOCH, new JobEvent.JobStarted("a")), this::encode);
        assertThat(encodings).as("seq 1 was evicted and encoded again").hasValue(4);
        cache.line(new StoredEvent(job, 3, Instant.EPOCH, new JobEvent.JobStarted("a")), this::encode);
        assertThat(encodings).hasValue(4);
    }
}
