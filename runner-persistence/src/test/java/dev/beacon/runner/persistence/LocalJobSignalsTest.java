package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.store.JobSignals.Signal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/** Per-job routing: a job's subscribers get its signals and only those; every signal still reaches {@code signals()}. */
class LocalJobSignalsTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void aJobsSubscribersGetItsSignalsOnlyAndTheRouteGoesWithTheLastOfThem() {
        LocalJobSignals signals = new LocalJobSignals();
        JobId a = JobId.random();
        JobId b = JobId.random();
        List<Signal> ofA = new CopyOnWriteArrayList<>();
        List<Signal> ofA2 = new CopyOnWriteArrayList<>();
        List<Signal> all = new CopyOnWriteArrayList<>();
        Disposable first = signals.signalsFor(a).subscribe(ofA::add);
        Disposable second = signals.signalsFor(a).subscribe(ofA2::add);
        Disposable everything = signals.signals().subscribe(all::add);
        assertThat(signals.routedJobs()).isEqualTo(1);

        List<Signal> sent = List.of(new Signal.EventsAppended(b, 1), new Signal.EventsAppended(a, 1), new Signal.JobAvailable(),
                new Signal.CancelRequested(b), new Signal.CancelRequested(a), new Signal.EventsAppended(a, 2));
        sent.forEach(s -> signals.publish(s).block(WAIT));

        Awaitility.await().atMost(WAIT).until(() -> all.size() == sent.size());
        Awaitility.await().atMost(WAIT).until(() -> ofA.size() == 3 && ofA2.size() == 3);
        assertThat(all).containsExactlyElementsOf(sent);
        List<Signal> expected = List.of(new Signal.EventsAppended(a, 1), new Signal.CancelRequested(a), new Signal.EventsAppended(a, 2));
        assertThat(ofA).containsExactlyElementsOf(expected);
        assertThat(ofA2).containsExactlyElementsOf(expected);

        first.dispose();
        assertThat(signals.routedJobs()).isEqualTo(1);
        second.dispose();
        assertThat(signals.routedJobs()).isZero();
        everything.dispose();
    }
}
