package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Proves this module's tests run with BlockHound, however Maven resolves runner-core's test classes
 * (a directory under {@code mvn test}, the test-jar under {@code mvn verify}): the module registers
 * the installer itself, in its own {@code META-INF/services}, and a blocking call on a non-blocking
 * thread fails.
 */
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
