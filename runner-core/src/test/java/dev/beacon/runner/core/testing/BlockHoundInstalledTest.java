package dev.beacon.runner.core.testing;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Proves the suite runs with BlockHound: a blocking call on a non-blocking thread fails. */
class BlockHoundInstalledTest {

    @Test
    void blockingOnAParallelThreadIsReported() {
        assertThatThrownBy(() -> Mono.delay(Duration.ofMillis(1))
                .doOnNext(x -> {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                })
                .subscribeOn(Schedulers.parallel())
                .block())
                .hasMessageContaining("Blocking call");
    }
}
