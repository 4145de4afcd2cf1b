package dev.beacon.runner.core.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The seam between a subscriber's replay and the shared live feed, batch by batch: what a
 * subscriber keeps of a batch it may have partly seen. (The feed end to end, with a thousand
 * subscribers on PostgreSQL, is {@code ManySubscribersTest} in runner-web.)
 */
class JobEventFeedTest {

    private static final JobId JOB = JobId.random();

    @Test
    void aBatchPastTheSeamIsPassedOnAsTheSameListSoEverySubscriberSharesIt() {
        List<StoredEvent> batch = started(5, 6, 7);

        assertThat(JobEventFeed.unseen(batch, 4)).isSameAs(batch);
    }

    @Test
    void aBatchThatOverlapsTheReplayKeepsOnlyTheEventsAfterTheCursor() {
        assertThat(JobEventFeed.unseen(started(5, 6, 7, 8), 6)).extracting(StoredEvent::seq).containsExactly(7L, 8L);
    }

    @Test
    void aBatchTheReplayAlreadyCoveredIsDroppedWhole() {
        assertThat(JobEventFeed.unseen(started(5, 6, 7), 7)).isEmpty();
        assertThat(JobEventFeed.unseen(started(5, 6, 7), 9)).isEmpty();
    }

    @Test
    void nothingAfterJobFinishedIsPassedOn() {
        List<StoredEvent> batch = new ArrayList<>(started(5, 6));
        batch.add(new StoredEvent(JOB, 7, Instant.EPOCH,
                new JobEvent.JobFinished(JobStatus.SUCCEEDED, new ExecutionCounts(1, 0, 0, 0, 0), null)));
        batch.addAll(started(8));

        assertThat(JobEventFeed.unseen(batch, 5)).extracting(StoredEvent::seq).containsExactly(6L, 7L);
    }

    private static List<StoredEvent> started(long... seqs) {
        return LongStream.of(seqs)
                .mapToObj(seq -> new StoredEvent(JOB, seq, Instant.EPOCH, new JobEvent.QuestionStarted("q" + seq, (int) seq, 10)))
                .toList();
    }
}
