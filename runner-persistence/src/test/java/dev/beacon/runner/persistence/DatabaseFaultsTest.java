package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.dao.PessimisticLockingFailureException;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class DatabaseFaultsTest {

    @Test
    void lostConnectionsAndLockFailuresAreTransientIntegrityViolationsAreNot() {
        assertThat(DatabaseFaults.isTransient(new R2dbcTransientResourceException("boom"))).isTrue();
        assertThat(DatabaseFaults.isTransient(new PessimisticLockingFailureException("deadlock"))).isTrue();
        assertThat(DatabaseFaults.isTransient(new RuntimeException(new R2dbcNonTransientResourceException("Connection closed")))).isTrue();
        assertThat(DatabaseFaults.isTransient(new RuntimeException(new java.net.ConnectException("refused")))).isTrue();
        assertThat(DatabaseFaults.isTransient(new DuplicateKeyException("dup"))).isFalse();
        assertThat(DatabaseFaults.isTransient(new IllegalArgumentException("bad"))).isFalse();
        assertThat(DatabaseFaults.isDuplicateKey(new RuntimeException(new R2dbcDataIntegrityViolationException("dup")))).isTrue();
    }

    @Test
    void transientFaultsAreRetriedABoundedNumberOfTimesThenTheLastErrorIsEmitted() {
        AtomicInteger calls = new AtomicInteger();
        Mono<String> flaky = Mono.defer(() -> calls.incrementAndGet() < 3
                ? Mono.error(new R2dbcTransientResourceException("connection reset"))
                : Mono.just("ok"));
        StepVerifier.create(flaky.retryWhen(DatabaseFaults.transientRetry(5, Duration.ofMillis(1))))
                .expectNext("ok").expectComplete().verify(Duration.ofSeconds(5));

        AtomicInteger always = new AtomicInteger();
        StepVerifier.create(Mono.defer(() -> {
                    always.incrementAndGet();
                    return Mono.error(new R2dbcTransientResourceException("down"));
                }).retryWhen(DatabaseFaults.transientRetry(2, Duration.ofMillis(1))))
                .expectErrorMessage("down").verify(Duration.ofSeconds(5));
        assertThat(always).hasValue(3);
    }
}
