package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.autoconfigure.RunnerWebAutoConfiguration.EventStreamCloser;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The signal that ends open event streams on shutdown: it fires on stop, and a context that is
 * started again (Spring Framework 7 pauses cached test contexts by stopping and restarting them)
 * serves streams that stay open until the next stop instead of ending at once.
 */
class EventStreamCloserTest {

    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void streamsOpenedAfterARestartStayOpenUntilTheNextStop() {
        EventStreamCloser closer = new EventStreamCloser();
        closer.start();
        assertThat(state(closer)).isEqualTo("open");

        Mono<String> before = closer.closed().thenReturn("closed").cache();
        before.subscribe();
        closer.stop();
        assertThat(before.block(WAIT)).isEqualTo("closed");
        assertThat(state(closer)).as("while stopped a new stream ends at once").isEqualTo("closed");

        closer.start();
        assertThat(closer.isRunning()).isTrue();
        assertThat(state(closer)).as("after the restart").isEqualTo("open");
        Mono<String> after = closer.closed().thenReturn("closed").cache();
        after.subscribe();
        closer.stop();
        assertThat(after.block(WAIT)).isEqualTo("closed");
    }

    @Test
    void aStreamOpenedBeforeTheFirstStartIsEndedByTheFirstStop() {
        EventStreamCloser closer = new EventStreamCloser();
        Mono<String> early = closer.closed().thenReturn("closed").cache();
        early.subscribe();
        closer.start();
        closer.stop();
        assertThat(early.block(WAIT)).isEqualTo("closed");
    }

    /** "closed" if a stream opened now would end at once, "open" otherwise; decided on subscription, no waiting. */
    private static String state(EventStreamCloser closer) {
        return Mono.firstWithSignal(closer.closed().thenReturn("closed"), Mono.just("open")).block(WAIT);
    }
}
