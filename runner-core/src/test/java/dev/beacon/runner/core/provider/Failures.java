package dev.beacon.runner.core.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import reactor.core.publisher.Mono;

/** Runs a call expected to fail and returns its {@link InferenceFailure}. */
final class Failures {

    private Failures() {
    }

    static InferenceFailure failureOf(Mono<?> call) {
        Throwable thrown = catchThrowable(() -> call.block(Duration.ofSeconds(15)));
        assertThat(thrown).isInstanceOf(InferenceFailure.class);
        return (InferenceFailure) thrown;
    }
}
