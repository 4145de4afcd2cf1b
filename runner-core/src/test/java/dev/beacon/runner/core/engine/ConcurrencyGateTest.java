package dev.beacon.runner.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.provider.InferenceFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Sinks;

/** The gate's limit: fixed, or adaptive (halved once per generation on throttling, +1 per run of successes). */
class ConcurrencyGateTest {

    private static final Predicate<Throwable> THROTTLED = e -> e instanceof InferenceFailure f && f.code().equals("HTTP_429");

    private final List<Sinks.One<String>> calls = new ArrayList<>();

    /** Starts a call through the gate that completes when the test says; returns its index. */
    private int call(ConcurrencyGate gate) {
        Sinks.One<String> answer = Sinks.one();
        calls.add(answer);
        gate.run(answer.asMono()).onErrorResume(e -> reactor.core.publisher.Mono.empty()).subscribe();
        return calls.size() - 1;
    }

    private void succeed(int call) {
        calls.get(call).tryEmitValue("ok");
    }

    private void refuse(int call) {
        calls.get(call).tryEmitError(InferenceFailure.forStatus(429, "provider 'p': answered HTTP 429", null));
    }

    @Test
    void aFixedGateQueuesCallsBeyondItsLimitInOrder() {
        ConcurrencyGate gate = new ConcurrencyGate(2);
        for (int i = 0; i < 3; i++) {
            call(gate);
        }
        assertThat(gate.inFlight()).isEqualTo(2);
        assertThat(gate.waiting()).isEqualTo(1);
        refuse(0); // a fixed gate does not adapt
        assertThat(gate.limit()).isEqualTo(2);
        assertThat(gate.inFlight()).isEqualTo(2);
        assertThat(gate.waiting()).isZero();
    }

    @Test
    void throttlingHalvesTheLimitOncePerGenerationDownToOne() {
        ConcurrencyGate gate = new ConcurrencyGate(8, THROTTLED);
        for (int i = 0; i < 8; i++) {
            call(gate);
        }
        // Three refusals of calls started under the same limit: one halving, not three.
        refuse(0);
        refuse(1);
        refuse(2);
        assertThat(gate.limit()).isEqualTo(4);
        // A call started after the halving and refused too: halves again.
        int late = call(gate);
        for (int i = 3; i < 8; i++) {
            succeed(i);
        }
        refuse(late);
        assertThat(gate.limit()).isEqualTo(2);
        for (int round = 0; round < 5; round++) {
            refuse(call(gate));
        }
        assertThat(gate.limit()).isEqualTo(1);
        assertThat(gate.ceiling()).isEqualTo(8);
    }

    @Test
    void aRunOfSuccessesRegrowsTheLimitByOneUpToTheCeiling() {
        ConcurrencyGate gate = new ConcurrencyGate(4, THROTTLED);
        refuse(call(gate));
        assertThat(gate.limit()).isEqualTo(2);
        int run = ConcurrencyGate.RUN_PER_PERMIT * 2;
        for (int i = 0; i < run - 1; i++) {
            succeed(call(gate));
        }
        assertThat(gate.limit()).as("one success short of a run").isEqualTo(2);
        succeed(call(gate));
        assertThat(gate.limit()).isEqualTo(3);
        for (int i = 0; i < ConcurrencyGate.RUN_PER_PERMIT * 3; i++) {
            succeed(call(gate));
        }
        assertThat(gate.limit()).isEqualTo(4);
        for (int i = 0; i < 100; i++) {
            succeed(call(gate));
        }
        assertThat(gate.limit()).as("never above the ceiling").isEqualTo(4);
    }

    @Test
    void aRaisedLimitStartsAWaitingCall() {
        ConcurrencyGate gate = new ConcurrencyGate(2, THROTTLED);
        refuse(call(gate));
        assertThat(gate.limit()).isEqualTo(1);
        for (int i = 0; i < ConcurrencyGate.RUN_PER_PERMIT - 1; i++) {
            succeed(call(gate));
        }
        int last = call(gate);
        call(gate);
        assertThat(gate.inFlight()).isEqualTo(1);
        assertThat(gate.waiting()).isEqualTo(1);
        succeed(last); // completes a run at limit 1: the limit is 2 again, and the waiting call starts
        assertThat(gate.limit()).isEqualTo(2);
        assertThat(gate.inFlight()).isEqualTo(1);
        assertThat(gate.waiting()).isZero();
    }
}
