package dev.beacon.runner.core.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.store.JobSignals;
import dev.beacon.runner.core.store.JobSignals.Signal;
import dev.beacon.runner.core.store.JobStore;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

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

    @Test
    void theFirstRoundReadsTheStore() {
        assertThat(new JobEventFeed.Handoff().take(0)).isNull();
    }

    @Test
    void eventsThatFollowOnAreTakenInSeqOrderWithoutARead() {
        JobEventFeed.Handoff handoff = afterFirstRound();
        handoff.offer(new Signal.EventsAppended(JOB, 7, started(6, 7)));
        handoff.offer(new Signal.EventsAppended(JOB, 5, started(4, 5)));

        assertThat(handoff.take(3)).extracting(StoredEvent::seq).containsExactly(4L, 5L, 6L, 7L);
        assertThat(handoff.take(7)).as("nothing new: nothing to do").isEmpty();
    }

    @Test
    void eventsAlreadyPassedOnAreDropped() {
        JobEventFeed.Handoff handoff = afterFirstRound();
        handoff.offer(new Signal.EventsAppended(JOB, 6, started(5, 6)));

        assertThat(handoff.take(5)).extracting(StoredEvent::seq).containsExactly(6L);
    }

    @Test
    void aGapMeansALostSignalAndARead() {
        JobEventFeed.Handoff handoff = afterFirstRound();
        handoff.offer(new Signal.EventsAppended(JOB, 7, started(7)));

        assertThat(handoff.take(5)).isNull();
        assertThat(handoff.take(7)).as("the read covered them").isEmpty();
    }

    @Test
    void aSignalWithTheSeqAloneOrThePollMeansARead() {
        JobEventFeed.Handoff handoff = afterFirstRound();
        handoff.offer(new Signal.EventsAppended(JOB, 6, started(6)));
        handoff.offer(new Signal.EventsAppended(JOB, 7));
        assertThat(handoff.take(5)).isNull();

        handoff.offer(0L);
        assertThat(handoff.take(7)).isNull();
    }

    /**
     * The shared feed end to end over a store that counts its reads: what the writing instance hands
     * over reaches the subscriber without one, anything else is read.
     */
    @Test
    void theFeedPassesOnHandedOverEventsAndReadsOnlyForTheRest() {
        List<StoredEvent> log = new CopyOnWriteArrayList<>(started(1, 2));
        AtomicInteger reads = new AtomicInteger();
        JobStore store = (JobStore) Proxy.newProxyInstance(JobStore.class.getClassLoader(), new Class<?>[] {JobStore.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("events")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    reads.incrementAndGet();
                    long after = (Long) args[1];
                    return Flux.defer(() -> Flux.fromIterable(log.stream().filter(e -> e.seq() > after).toList()));
                });
        Sinks.Many<Signal> published = Sinks.many().multicast().directBestEffort();
        JobSignals signals = new JobSignals() {
            @Override
            public Mono<Void> publish(Signal signal) {
                return Mono.fromRunnable(() -> published.tryEmitNext(signal));
            }

            @Override
            public Flux<Signal> signals() {
                return published.asFlux();
            }
        };
        JobEventFeed feed = new JobEventFeed(store, signals, Duration.ofHours(1), Schedulers.parallel());
        StoredEvent finished = new StoredEvent(JOB, 7, Instant.EPOCH,
                new JobEvent.JobFinished(JobStatus.SUCCEEDED, new ExecutionCounts(1, 0, 0, 0, 0), null));

        StepVerifier.create(feed.batches(JOB, 0))
                .assertNext(batch -> assertThat(batch).extracting(StoredEvent::seq).containsExactly(1L, 2L))
                // The replay and the feed's first round: two reads.
                .then(() -> assertThat(reads).hasValue(2))
                .then(() -> {
                    log.addAll(started(3, 4));
                    signals.publish(new Signal.EventsAppended(JOB, 4, started(3, 4))).block();
                })
                .assertNext(batch -> assertThat(batch).extracting(StoredEvent::seq).containsExactly(3L, 4L))
                .then(() -> assertThat(reads).as("handed over, not read").hasValue(2))
                .then(() -> {
                    log.addAll(started(5));
                    signals.publish(new Signal.EventsAppended(JOB, 5)).block(); // from another instance
                })
                .assertNext(batch -> assertThat(batch).extracting(StoredEvent::seq).containsExactly(5L))
                .then(() -> assertThat(reads).hasValue(3))
                .then(() -> {
                    log.addAll(started(6));
                    log.add(finished);
                    signals.publish(new Signal.EventsAppended(JOB, 7, List.of(finished))).block(); // 6's signal was lost
                })
                .assertNext(batch -> assertThat(batch).extracting(StoredEvent::seq).containsExactly(6L, 7L))
                .verifyComplete();
        assertThat(reads).hasValue(4);
    }

    private static JobEventFeed.Handoff afterFirstRound() {
        JobEventFeed.Handoff handoff = new JobEventFeed.Handoff();
        assertThat(handoff.take(0)).isNull();
        return handoff;
    }

    private static List<StoredEvent> started(long... seqs) {
        return LongStream.of(seqs)
                .mapToObj(seq -> new StoredEvent(JOB, seq, Instant.EPOCH, new JobEvent.QuestionStarted("q" + seq, (int) seq, 10)))
                .toList();
    }
}
