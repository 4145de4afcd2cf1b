package dev.beacon.runner.core.testing;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** The check each module's {@code BlockHoundInstalledTest} runs in its own JVM: a blocking call on a non-blocking thread fails. */
public final class BlockHoundProbe {

    private BlockHoundProbe() {
    }

    /** Sleeps on a parallel thread and asserts that BlockHound reported it. */
    public static void assertBlockingOnAParallelThreadIsReported() {
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
