package dev.beacon.runner.web;

import dev.beacon.runner.core.testing.BlockHoundProbe;
import org.junit.jupiter.api.Test;

/**
 * Proves this module's tests run with BlockHound, however Maven resolves runner-core's test classes
 * (a directory under {@code mvn test}, the test-jar under {@code mvn verify}): the module registers
 * the installer itself, in its own {@code META-INF/services}, and a blocking call on a non-blocking
 * thread fails.
 */
class BlockHoundInstalledTest {

    @Test
    void blockingOnAParallelThreadIsReported() {
        BlockHoundProbe.assertBlockingOnAParallelThreadIsReported();
    }
}
