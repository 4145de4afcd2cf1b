package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class HeldResultsTest {

    static final Duration WAIT = Duration.ofSeconds(5);
    static final JobId JOB = JobId.random();

    final List<ExecutionResult> alone = new CopyOnWriteArrayList<>();
    final List<List<ExecutionResult>> together = new CopyOnWriteArrayList<>();

    Mono<StoredEvent> one(ExecutionResult r) {
        alone.add(r);
        return Mono.just(stored(r, 100));
    }

    Mono<List<Optional<StoredEvent>>> all(List<ExecutionResult> results) {
        together.add(results);
        // the second one "had its row already": nothing stored for it
        return Mono.just(results.stream().map(r -> r == results.get(1) ? Optional.<StoredEvent>empty()
                : Optional.of(stored(r, results.indexOf(r) + 1))).toList());
    }

    @Test
    void heldResultsAreStoredTogetherAtTheReleaseAndLaterOnesAlone() {
        HeldResults held = new HeldResults();
        var first = held.store(result("a"), this::one).toFuture();
        var second = held.store(result("b"), this::one).toFuture();
        var third = held.store(result("c"), this::one).toFuture();
        assertThat(first).isNotDone();

        StepVerifier.create(held.release(this::all)).expectComplete().verify(WAIT);

        assertThat(together).hasSize(1);
        assertThat(together.get(0)).extracting(r -> r.cell().questionId()).containsExactly("a", "b", "c");
        assertThat(first.join().seq()).isEqualTo(1);
        assertThat(second.join()).as("nothing stored: completes empty").isNull();
        assertThat(third.join().seq()).isEqualTo(3);
        StepVerifier.create(held.store(result("d"), this::one)).expectNextMatches(e -> e.seq() == 100).expectComplete().verify(WAIT);
        assertThat(alone).extracting(r -> r.cell().questionId()).containsExactly("d");
    }

    @Test
    void aResultCancelledBeforeTheReleaseIsNotStored() {
        HeldResults held = new HeldResults();
        held.store(result("a"), this::one).subscribe().dispose();
        var kept = held.store(result("b"), this::one).toFuture();
        var alsoKept = held.store(result("c"), this::one).toFuture();

        StepVerifier.create(held.release(this::all)).expectComplete().verify(WAIT);

        assertThat(together.get(0)).extracting(r -> r.cell().questionId()).containsExactly("b", "c");
        assertThat(kept.join()).isNotNull();
        assertThat(alsoKept.join()).isNull();
    }

    @Test
    void aFailedReleaseFailsEveryHeldResultAndTheRelease() {
        HeldResults held = new HeldResults();
        var a = held.store(result("a"), this::one);
        var waiting = a.toFuture();

        StepVerifier.create(held.release(results -> Mono.error(new IllegalStateException("store down"))))
                .expectErrorMessage("store down").verify(WAIT);

        assertThat(waiting).isCompletedExceptionally();
        StepVerifier.create(new HeldResults().release(this::all)).as("nothing held: nothing written").expectComplete().verify(WAIT);
        assertThat(together).isEmpty();
    }

    private static ExecutionResult result(String question) {
        return ExecutionResult.notRun(new Cell(question, new EndpointId("m", "r")), ExecutionStatus.CANCELLED,
                new ExecutionError(ExecutionError.CANCELLED, "test"), Instant.EPOCH);
    }

    private static StoredEvent stored(ExecutionResult r, long seq) {
        return new StoredEvent(JOB, seq, Instant.EPOCH, new JobEvent.ExecutionFinished(r));
    }
}
